"""A sandbox of Strava (API v3, OAuth, push subscriptions) on loopback, held to Strava's published
documents: `provider.FakeStrava`. Used by the tests, the benches and local demos."""
