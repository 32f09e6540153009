"""Fake upstream services (real HTTP on 127.0.0.1) for tests, benches and local demos."""
