"""Activity providers (Strava, Garmin) behind one small interface; see base.py."""
