"""Alembic environment: run with a connection handed over by bulletin.store.migrate."""

from __future__ import annotations

from alembic import context

from bulletin.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
