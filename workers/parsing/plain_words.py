"""Parser exceptions said in words a runner can act on.

fitparse, gpxpy and zipfile explain failures to programmers ("CRC Mismatch [computed: 0xA1D5,
read: 0x1C7E]", "Error parsing XML: not well-formed (invalid token): line 17, column 4"); the upload
form, the import summary and the API show these reasons to people. Each reason says what is wrong
with the file and what to do; the library's own text stays in the log, not in the answer.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"line (\d+)")
AGAIN = "export it again from your watch or app and retry"


def fit_error(exc: BaseException) -> str:
    text = str(exc)
    if "CRC" in text:
        return ("this FIT file is damaged: its checksum does not match its contents (it was "
                f"probably cut short or changed while copying); {AGAIN}")
    if "header" in text.lower() or "EOF" in text or "truncated" in text.lower():
        return f"this FIT file ends too early (it was probably cut short while copying); {AGAIN}"
    return f"this FIT file is damaged and cannot be read; {AGAIN}"


def gpx_error(exc: BaseException) -> str:
    where = _LINE.search(str(exc))
    near = f" (the problem is near line {where.group(1)})" if where else ""
    return f"this GPX file is not well-formed XML{near}, so it cannot be read; {AGAIN}"


def zip_error(exc: BaseException) -> str:
    return ("this zip archive is damaged or incomplete and cannot be opened; download it again "
            "(a Strava or Garmin export: ask for a new one) and retry")


# Dates a GPS running watch cannot have recorded: before 2000 (the first GPS running watches came
# in 2003) means the device's clock was never set (e.g. 1901-12-13, a zero 32-bit time stamp).
EARLIEST_YEAR = 2000


def clock_problem(start) -> str | None:
    """Why a track's start time cannot be real, or None."""
    if start is not None and start.year < EARLIEST_YEAR:
        return (f"its times say {start:%Y-%m-%d}, before GPS watches existed: the device's clock "
                "was not set, so this cannot be placed in your history")
    return None
