"""Image build step (Dockerfile, final stage, as root): byte-compile the standard-library modules
kneeguard imports, and only those.

python:3.11-slim ships its standard library without bytecode and the service runs as a user who
cannot write any, so without this every process start (a web process, a CLI command, the workers'
health check every 30 s) compiles the same ~230 modules again: about 1 s of CPU each time. Their
bytecode is ~6 MB; the whole standard library's would be several times that.

    python deploy/stdlib-bytecode.py deploy/runtime-imports.txt
"""

import importlib
import pkgutil
import py_compile
import sys
import sysconfig


def import_everything(runtime_imports: str) -> None:
    with open(runtime_imports) as names:
        for line in names:
            name = line.split("#")[0].strip()
            if name:
                importlib.import_module(name)
    for package in ("service", "workers"):  # no import side effects (README, house style)
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            importlib.import_module(info.name)


def compile_loaded_stdlib() -> int:
    stdlib = sysconfig.get_path("stdlib") + "/"
    files = {getattr(module, "__file__", None) or "" for module in list(sys.modules.values())}
    sources = sorted(f for f in files if f.startswith(stdlib) and f.endswith(".py")
                     and "/site-packages/" not in f)
    for source in sources:
        py_compile.compile(source, doraise=True)
    return len(sources)


if __name__ == "__main__":
    import_everything(sys.argv[1])
    print(f"byte-compiled {compile_loaded_stdlib()} standard-library modules", file=sys.stderr)
