"""Infrastructure: settings, database, queue and jobs, HTTP out, workers, logs, metrics."""
