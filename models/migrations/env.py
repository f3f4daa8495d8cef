"""Alembic environment: runs on the connection that ``models.db.upgrade`` hands in."""

from alembic import context

from models.entities import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `askhub db upgrade` (models.db.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
