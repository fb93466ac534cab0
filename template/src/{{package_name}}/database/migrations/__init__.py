"""Alembic migrations of the service's database; `database.migrate` runs them, newest last."""
