"""Who is calling, as the domain sees it: a `Principal` every lookup is scoped by.

How a principal is found (tokens, API keys, browser sessions, CSRF) is the web side's business
(`service/web/auth.py`); the domain only receives one, so it lives here, below both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.errors import Forbidden

KEY_PREFIX = "kgk_"  # API keys (club, integrator); personal runner tokens start with kg_


@dataclass(frozen=True)
class Principal:
    kind: str  # anonymous | athlete | club | integrator
    athlete_id: str | None = None
    club_id: str | None = None
    key_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    via: str = "none"  # none | token | key | session

    @property
    def is_key(self) -> bool:
        return self.kind in ("club", "integrator")

    def can(self, scope: str) -> bool:
        # admin implies read
        return scope in self.scopes or (scope == "read" and "admin" in self.scopes)

    @property
    def rate_identity(self) -> str | None:
        if self.key_id:
            return f"key:{self.key_id}"
        if self.athlete_id:
            return f"athlete:{self.athlete_id}"
        return None


ANONYMOUS = Principal(kind="anonymous")


def require_scope(p: Principal, scope: str) -> None:
    if p.is_key and not p.can(scope):
        raise Forbidden(f"This API key lacks the `{scope}` scope.", code="insufficient_scope")
