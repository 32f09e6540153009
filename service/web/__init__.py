"""The web side: JSON API blueprints, server-rendered pages, auth, errors, OpenAPI."""
