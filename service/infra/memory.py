"""The C allocator in long-lived threaded web processes: bounded by design.

glibc gives a thread that allocates while another holds an arena its own arena, up to 8 per core.
A gunicorn gthread worker has 8 request threads, and an upload makes large short-lived
allocations (the body, gpxpy's objects, numpy columns, the stored row) in whichever arena its
thread got. Freed memory stays in those arenas, fragmented, and is seldom given back: RSS grows
with the arenas touched and the high-water marks in each, not with live data (the issue's
112 -> 201 MB per process over ~1,000 uploads, levelling off). Two arenas per process (what
MALLOC_ARENA_MAX=2 sets, here through mallopt after the fork, before the request threads start)
bound the arenas; `malloc_trim(0)` after an upload gives free pages back to the system.
bench/soak.py measures RSS from the middle to the end of 2,000 uploads; bench/web_heap.py shows
Python's own allocations (tracemalloc) beside RSS. Not glibc (musl, macOS): nothing to do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc malloc.h
ARENAS = 2


def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") else None


_LIBC = _libc()


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Call in a fresh process before its threads start; True when glibc took it."""
    if _LIBC is None:
        return False
    ok = bool(_LIBC.mallopt(M_ARENA_MAX, arenas))
    if not ok:
        log.warning("mallopt(M_ARENA_MAX) refused")
    return ok


def trim() -> None:
    """Give free heap pages back to the system (after a request that allocated a lot)."""
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def freeze_long_lived() -> None:
    """Move every object alive now (the imports, the app, its blueprints and templates) out of
    the cyclic garbage collector's reach: they live as long as the process. A full (generation 2)
    collection walks every tracked object, and with ~400 modules loaded each one cost a web
    request ~60 ms, every ~9 requests of a big page (`/me` for a ten-year runner: median 43 ms,
    p95 104-119 ms in bench/dashboard.py, the spikes exactly the generation-2 collections).
    Frozen objects are never collected, which is right for what a process keeps until it exits;
    objects made later (each request's) are collected as before. The gunicorn master calls this
    after its preload too, so the web processes do not write to the pages they share with it
    when the collector would mark those objects (Python's `gc.freeze` documentation)."""
    gc.freeze()
