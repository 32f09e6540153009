"""A sandbox of Garmin's Connect Developer Program (OAuth 2.0 PKCE, wellness API, notifications)
on loopback, held to Garmin's documents (`documents.py`): `provider.FakeGarmin`. Used by the tests,
the benches and local demos."""
