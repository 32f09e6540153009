"""Processes as Linux's /proc shows them: a process's children, its whole tree, its resident memory.

Shared by the fault-injection tests (find an RQ worker's work-horse to kill) and the benches
(sum the RSS of the web and worker processes).
"""

from __future__ import annotations

import socket
from pathlib import Path

PROC = Path("/proc")


def _parent(pid: str) -> int | None:
    try:
        # The command name (in parentheses) may hold spaces: the fields after it are fixed.
        return int((PROC / pid / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None  # the process ended while we looked


def children(pid: int) -> list[int]:
    """The direct children of `pid`."""
    return [int(e.name) for e in PROC.iterdir() if e.name.isdigit() and _parent(e.name) == pid]


def tree(root: int) -> list[int]:
    """`root` and every descendant."""
    kids: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (ppid := _parent(entry.name)) is not None:
            kids.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += kids.get(pid, [])
    return out


def rss_kb(pid: int) -> int | None:
    """Resident memory in KiB, or None once the process is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def serves_health(port: int) -> bool:
    """Whether a kneeguard server on 127.0.0.1:`port` answers `/healthz` with 200 (raw socket: no
    HTTP client's retries or pooling between a test and the process it watches)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            return conn.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
