"""Provider event handlers (Strava, Garmin) register themselves with workers.ingest on import."""
