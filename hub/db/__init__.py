"""Persistence: engine factory, column types, ORM models, migrations."""
