"""nudge loop state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 23:42:52.130469
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wave", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("wave_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("exhausted_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("forwarded_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_match_forwarded_by_id_person"),
            "person",
            ["forwarded_by_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("nudge", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_url", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("digest", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("last_digest_at")
        batch_op.drop_column("digest")
        batch_op.drop_column("webhook_url")

    with op.batch_alter_table("nudge", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("claimed_until")

    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_match_forwarded_by_id_person"), type_="foreignkey")
        batch_op.drop_column("forwarded_by_id")
        batch_op.drop_column("snoozed_until")
        batch_op.drop_column("replied_at")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("seen_at")
        batch_op.drop_column("nudged_at")

    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_column("exhausted_at")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("wave_started_at")
        batch_op.drop_column("wave")
