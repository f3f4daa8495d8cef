"""the reader's language: a UI setting of its own, separate from the languages one speaks

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: None means "the first language the person speaks", so nobody's pages change.
    # Plain ALTER TABLE on both databases: a batch rebuild on SQLite would drop the
    # expression index uq_person_lower_email.
    op.add_column("person", sa.Column("ui_language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    op.drop_column("person", "ui_language")
