"""Everything about Garmin: client, connect, push receivers, jobs."""
