"""Alembic environment: migrate over the connection `database.migrate` hands in.

The service runs migrations itself at start-up, so there is no alembic.ini and no URL here.
A schema change is a new module in `versions/`, written by hand like `0001_model_calls.py`: its
`revision`, the `down_revision` it follows, and `upgrade()`/`downgrade()` with `alembic.op`.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
