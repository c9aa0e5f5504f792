"""Alembic migrations of slakeeper's schema (`slakeeper db upgrade`)."""
