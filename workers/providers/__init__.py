"""Provider event handlers (Strava, Garmin) register themselves with workers.ingest on import."""

from workers.providers import garmin, strava  # noqa: F401  (each registers its handlers/sender)
