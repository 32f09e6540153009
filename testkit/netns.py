"""Run a function in a network namespace of its own, so a test can have 127.0.0.1:80 and :443 even
when something else on the machine (another test process, a web server) holds them.

Linux keeps the network namespace per thread: `unshare(CLONE_NEWNET)` in a fresh thread moves
only that thread (and the threads and sockets it creates) into a new namespace with nothing but a
loopback interface, which we bring up. Sockets made before keep their namespace, so database and
Redis connections already in a pool still work there; a new connection to the real 127.0.0.1
(PostgreSQL, Redis) would not, so callers ping their pools before entering.

Needs CAP_SYS_ADMIN (root); `available()` says whether it can be had here.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


class NamespaceUnavailable(OSError):
    pass


def _unshare_network() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NamespaceUnavailable(err, f"unshare(CLONE_NEWNET): {os.strerror(err)}")


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def run_isolated(fn: Callable[[], T]) -> T:
    """`fn()` in a thread of its own network namespace (loopback up); its result or its error."""
    outcome: dict[str, object] = {}

    def body() -> None:
        try:
            _unshare_network()
            _loopback_up()
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=body, name="own-network-namespace")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def available() -> bool:
    """Whether this process may make network namespaces (root, or CAP_SYS_ADMIN)."""
    try:
        return run_isolated(lambda: True)
    except OSError:
        return False
