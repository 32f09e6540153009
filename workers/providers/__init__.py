"""Provider event handlers (Strava, Garmin) register themselves with workers.ingest on import."""

from workers.providers import garmin  # noqa: F401  (registers the handlers)
from workers.providers import strava  # noqa: F401  (registers the handlers and sender)
