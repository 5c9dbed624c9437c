"""Alembic migrations of the OpenOMS schema (run by :func:`openoms.store.db.upgrade`)."""
