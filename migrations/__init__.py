"""Alembic migrations over the tables of ``models`` (the only way the schema changes)."""
