"""Our note inside a Strava activity description: render it, and splice it into the runner's text.

Strava's PUT /activities/{id} replaces the whole description (no append, no comments API), and other
apps (Klimat, intervals.icu…) write into the same field, so the job does GET -> merge_note -> PUT and
only ever touches the text between our two markers:

    <runner's text and other apps' blocks, untouched>

    — kneeguard —
    <our note>
    — end kneeguard —

The markers are visible plain text on purpose (descriptions are plain text, and invisible markers
have been reported to break). Rules: an existing block is replaced in place; several blocks of ours
(a concurrent edit) collapse into one at the first one's place; a BEGIN marker without its END is
left alone as if it were the runner's text; `note=None` (or empty) removes our block. Whitespace at
the seams is normalised to one blank line, so merge(merge(d, n), n) == merge(d, n).

Reference: https://developers.strava.com/docs/reference/#api-Activities-updateActivityById
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from workers.analysis.severity import rank

BEGIN = "— kneeguard —"
END = "— end kneeguard —"
MAX_NOTE_CHARS = 400
_BLOCK = re.compile(re.escape(BEGIN) + r"(?:(?!" + re.escape(BEGIN) + r").)*?" + re.escape(END),
                    re.DOTALL)


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def _clean_note(note: str | None) -> str:
    if note is None:
        return ""
    # A note must never forge a marker, or the next merge would cut at the wrong place.
    return note.replace(BEGIN, "").replace(END, "").strip()


def strip_note(description: str | None) -> str:
    """The description without any block of ours (what the runner and other apps wrote)."""
    return merge_note(description, None)


def merge_note(description: str | None, note: str | None) -> str:
    """Put `note` in our marked block of `description` (replace, or append at the end); remove the
    block when `note` is None or blank. Everything outside our block is kept."""
    text = description or ""
    body = _clean_note(note)
    block = f"{BEGIN}\n{body}\n{END}" if body else ""
    matches = list(_BLOCK.finditer(text))
    if not matches:
        return _join(text.rstrip(), block)
    # Text around the first block keeps its place; later blocks of ours are dropped.
    pieces = [text[: matches[0].start()]]
    for prev, nxt in zip(matches, matches[1:], strict=False):
        pieces.append(text[prev.end(): nxt.start()])
    pieces.append(text[matches[-1].end():])
    before = pieces[0].rstrip()
    after = _join(*(p.strip() for p in pieces[1:]))
    return _join(before, block, after)


def _get(finding: Any, key: str) -> Any:
    if isinstance(finding, Mapping):
        return finding.get(key)
    return getattr(finding, key, None)


# One short, neutral sentence per rule. A public activity's description is read by the runner's
# followers: no numbers about their body, no alarm, no advice; the link has the details.
NOTE_LINES = {
    "single_run_spike": "Longer than this runner's recent runs.",
    "return_to_running": "A first run back after a break.",
    "weekly_jump": "A bigger week than usual.",
    "acwr": "A heavier month than usual.",
    "weekly_descent": "More downhill this week than usual.",
    "downhill_novel": "More downhill than recent runs.",
    "route_repetition": "A route often run the same way round.",
    "track_direction": "Track laps mostly the same way round.",
    "gct_asymmetry": "Uneven ground contact on this run.",
    "cadence_drop": "Fewer steps per minute than usual.",
    "shoe_mileage": "These shoes have many kilometres.",
    "knee_load": "More knee load than this runner's usual weeks.",
}
NOTE_HEAD = "kneeguard noticed:"


def render_note(findings: Iterable[Any], public_url: str, *, min_severity: str = "caution",
                max_items: int = 3) -> str:
    """Short plain text for the description, or "" when nothing reaches `min_severity` (so a
    re-analysis that no longer warns removes the old note). One sentence per finding, most severe
    first; sentences that would not fit are counted ("+1 more"), never cut mid-sentence.
    `findings` are mappings or objects with `rule` and `severity`."""
    floor = rank(min_severity, 1)
    shown = [f for f in findings if rank(str(_get(f, "severity"))) >= floor]
    shown.sort(key=lambda f: -rank(str(_get(f, "severity"))))
    if not shown:
        return ""
    tail = f"Details: {public_url}"
    lines: list[str] = []
    for f in shown:
        line = NOTE_LINES.get(str(_get(f, "rule")), "A pattern worth a look.")
        if line in lines:
            continue
        more = len(shown) - len(lines) - 1
        room = MAX_NOTE_CHARS - len(tail) - len(NOTE_HEAD) - 12 * (more > 0) - 3
        if len(lines) >= max_items or sum(len(x) + 1 for x in lines) + len(line) > room:
            break
        lines.append(line)
    rest = len({NOTE_LINES.get(str(_get(f, "rule"))) for f in shown}) - len(lines)
    extra = [f"+{rest} more"] if rest > 0 else []
    return "\n".join([NOTE_HEAD, *lines, *extra, tail])


def _shorten(text: str, limit: int) -> str:
    limit = max(limit, 1)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
