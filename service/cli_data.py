"""Data commands (import, analyze) are added by later modules."""
