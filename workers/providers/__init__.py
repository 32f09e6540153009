"""Provider event handlers (listed in workers.ingest.handlers) and the Strava note sender."""

from workers.providers import garmin, strava  # noqa: F401  (strava registers its note sender)
