"""Hostile input against the running service, on SQLite and on PostgreSQL."""
