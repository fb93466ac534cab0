"""Alembic migrations of the ledger; `ledger.migrate` runs them, newest last."""
