"""fitted routing models, answer links between posts, p_answer on matches

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_model",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("positives", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
    )
    # Batch mode: SQLite rebuilds the table, PostgreSQL runs a plain ALTER TABLE.
    with op.batch_alter_table("post", schema=None) as batch_op:
        # The external id of the question a post answers (same source): the history the
        # ranker is fitted on.
        batch_op.add_column(sa.Column("in_reply_to", sa.String(length=200), nullable=True))
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.add_column(sa.Column("p_answer", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.drop_column("p_answer")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_column("in_reply_to")
    op.drop_table("routing_model")
