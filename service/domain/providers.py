"""What the web side asks of a provider without importing its package.

Provider packages sit above the web side (their views use its sign-in and body-limit helpers), so
pages and the API reach them through this table, which `service.create_app` fills in: one
`ProviderHooks` per provider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.infra.runtime import Runtime
from service.models import Connection


@dataclass(frozen=True)
class ProviderHooks:
    # (runtime, athlete id): tell the provider, best effort; None when it is switched off here
    disconnect: Callable[[Runtime, str], object] | None  # what it returns is not used
    status_view: Callable[[Session, Connection], dict] | None = None  # what /me shows, if anything


Providers = Mapping[str, ProviderHooks]
