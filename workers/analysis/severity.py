"""The one severity order of the whole code base (DESIGN §1: `info` < `caution` < `high`).

Everything that sorts, filters or compares severities (the report, the notifier floors, the club
dashboard's risk level) reads this module instead of keeping its own order or rank table, so a new
level or a renamed one cannot leave two parts of the service disagreeing about which is worse.
"""

from __future__ import annotations

from collections.abc import Iterable

SEVERITIES: tuple[str, ...] = ("info", "caution", "high")  # weakest first
_RANK = {name: index for index, name in enumerate(SEVERITIES)}
# The one wording of each level, said the same way on every page, in every email and on the club
# dashboard (a runner who reads "Worth a look" on /me must not meet "Caution" in the inbox).
WORDS: dict[str, str] = {"high": "Act on this", "caution": "Worth a look", "info": "For context"}


def word(severity: str | None) -> str:
    """The reader's words for a level ("Act on this"); "Nothing" for none, "Note" if unknown."""
    if severity in (None, "", "none"):
        return "Nothing"
    return WORDS.get(severity, "Note")


def rank(severity: str | None, default: int = -1) -> int:
    """0 for info, 1 caution, 2 high; `default` for anything else (None, unknown)."""
    return _RANK.get(severity or "", default)


def at_least(severity: str | None, floor: str) -> bool:
    """Is `severity` at or above `floor`? Unknown severities never pass."""
    return rank(severity) >= rank(floor, default=0)


def strongest(severities: Iterable[str | None]) -> str | None:
    """The highest known severity of several, None if there is none."""
    known = [s for s in severities if s in _RANK]
    return max(known, key=rank) if known else None


def sort_key(severity: str | None) -> int:
    """Sort key putting the strongest first (high, caution, info, then unknown)."""
    return -rank(severity, default=-1)
