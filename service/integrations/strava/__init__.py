"""Everything about Strava: client, connect, push receiver, jobs, note, CLI."""
