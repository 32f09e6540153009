"""One package per provider (Strava, Garmin); a new provider copies a sibling."""
