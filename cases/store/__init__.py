"""Persistence: the models, the Alembic migrations, the engine and unit of work."""
