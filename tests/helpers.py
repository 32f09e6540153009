"""Small helpers shared by service tests."""

from __future__ import annotations

from service.domain import accounts


def athlete_with_token(runtime, email: str = "runner@example.com") -> tuple[str, dict]:
    athlete_id, token = accounts.add_athlete(runtime, email)
    return athlete_id, {"Authorization": f"Bearer {token}"}
