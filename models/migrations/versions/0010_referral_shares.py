"""referral calls that spread: the vacancy or event, personal share links, shares and visits

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 09:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral",
        sa.Column(
            "call_id",
            sa.Integer(),
            sa.ForeignKey("call.id", name="fk_referral_call_id_call", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("offer", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name="pk_referral"),
    )
    op.create_table(
        "share_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "call_id",
            sa.Integer(),
            sa.ForeignKey("call.id", name="fk_share_link_call_id_call", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_share_link_person_id_person", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_share_link"),
        sa.UniqueConstraint("call_id", "person_id", name="uq_share_link_call_id"),
        sa.UniqueConstraint("code", name="uq_share_link_code"),
    )
    op.create_index("ix_share_link_call_id", "share_link", ["call_id"])
    op.create_index("ix_share_link_person_id", "share_link", ["person_id"])
    op.create_table(
        "share",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "link_id",
            sa.Integer(),
            sa.ForeignKey("share_link.id", name="fk_share_link_id_share_link", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_share"),
    )
    op.create_index("ix_share_link_id", "share", ["link_id"])
    op.create_table(
        "share_visits",
        sa.Column(
            "link_id",
            sa.Integer(),
            sa.ForeignKey(
                "share_link.id", name="fk_share_visits_link_id_share_link", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("link_id", "day", name="pk_share_visits"),
    )


def downgrade() -> None:
    op.drop_table("share_visits")
    op.drop_index("ix_share_link_id", table_name="share")
    op.drop_table("share")
    op.drop_index("ix_share_link_person_id", table_name="share_link")
    op.drop_index("ix_share_link_call_id", table_name="share_link")
    op.drop_table("share_link")
    op.drop_table("referral")
