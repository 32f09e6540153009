"""The JSON API: one blueprint per resource under /v1 (registered by `service.create_app`)."""
