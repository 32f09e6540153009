"""Strict query-string parameters shared by blueprints."""

from __future__ import annotations

import re

from flask import request

from service.errors import InvalidInput


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    # ASCII digits only: str.isdigit() also accepts "²" (int() then raises) and int() accepts
    # "１０" and "1_0"; none of them is a number a client meant to send.
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidInput(f"`{name}` must be a whole number from {low} to {high}.")
    return int(raw)


_DIGITS = re.compile(r"[0-9]{1,9}")
