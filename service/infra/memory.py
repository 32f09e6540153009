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
