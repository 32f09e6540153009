"""Strict query-string parameters shared by blueprints."""

from __future__ import annotations

from flask import request

from service.errors import InvalidInput


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(f"`{name}` must be a whole number from {low} to {high}.")
    return int(raw)
