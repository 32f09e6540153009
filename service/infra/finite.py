"""No NaN or infinity reaches the database.

PostgreSQL rejects `NaN` inside JSON ("Token "NaN" is invalid") and SQLite stores NaN as NULL, which
a NOT NULL column refuses: either way one odd file (a GPX without elevation or times) became a 500.
Values are made finite where they are computed (service.domain.activities); this `before_flush` hook is the
boundary's guard: a non-finite float in a nullable column or inside JSON is stored as null; in a
NOT NULL column it is an error naming the column (a bug to fix upstream, never a silent 0).
"""

from __future__ import annotations

import logging
import math

from sqlalchemy import JSON, Float, inspect

log = logging.getLogger(__name__)


def finite(value, default=None):
    """`value` when it is a finite number, else `default`."""
    if isinstance(value, float) and not math.isfinite(value):
        return default
    return value


def scrub(value):
    """A copy of a JSON-like value with every non-finite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value


def guard(session, _context, _instances) -> None:
    for obj in list(session.new) + list(session.dirty):
        _guard_object(obj)


def _guard_object(obj) -> None:
    state = inspect(obj)
    mapper, loaded = state.mapper, state.dict  # loaded values only: no SQL inside a flush
    for column in mapper.columns:
        value = loaded.get(column.key)
        if isinstance(column.type, Float) and isinstance(value, float) \
                and not math.isfinite(value):
            if not column.nullable:
                raise ValueError(f"{mapper.class_.__name__}.{column.key} is {value}")
            log.warning("non-finite value stored as null",
                        extra={"column": f"{mapper.class_.__name__}.{column.key}"})
            setattr(obj, column.key, None)
        elif _is_json(column.type) and isinstance(value, (dict, list)):
            clean = scrub(value)
            if clean != value:
                setattr(obj, column.key, clean)


def _is_json(type_) -> bool:
    return isinstance(type_, JSON) or isinstance(getattr(type_, "impl", None), JSON)
