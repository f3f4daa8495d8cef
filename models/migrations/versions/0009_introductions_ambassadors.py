"""facilitation: introductions by managers (outside the introduced person's budget) and
ambassadors with their invitations

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _person_fk(table: str, column: str, ondelete: str = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey("person.id", name=f"fk_{table}_{column}_person", ondelete=ondelete)


def upgrade() -> None:
    # Plain ALTER TABLE (no batch rebuild): an ask made by an introduction is not counted
    # against the introduced person's weekly budget.
    op.add_column(
        "match",
        sa.Column("introduced", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "introduction",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "introducer_id",
            sa.Integer(),
            _person_fk("introduction", "introducer_id"),
            nullable=False,
        ),
        sa.Column(
            "call_id",
            sa.Integer(),
            sa.ForeignKey("call.id", name="fk_introduction_call_id_call", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "person_id", sa.Integer(), _person_fk("introduction", "person_id"), nullable=False
        ),
        sa.Column("other_id", sa.Integer(), _person_fk("introduction", "other_id"), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_introduction"),
    )
    op.create_index("ix_introduction_call_id", "introduction", ["call_id"])
    op.create_index("ix_introduction_person_id", "introduction", ["person_id"])
    op.create_index("ix_introduction_other_id", "introduction", ["other_id"])
    op.create_index(
        "ix_introduction_introducer_created", "introduction", ["introducer_id", "created_at"]
    )
    op.create_table(
        "ambassador",
        sa.Column("person_id", sa.Integer(), _person_fk("ambassador", "person_id"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column(
            "appointed_by_id",
            sa.Integer(),
            _person_fk("ambassador", "appointed_by_id", "SET NULL"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name="pk_ambassador"),
        sa.UniqueConstraint("code", name="uq_ambassador_code"),
    )
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "colleague_id", sa.Integer(), _person_fk("invitation", "colleague_id"), nullable=False
        ),
        sa.Column(
            "ambassador_id",
            sa.Integer(),
            _person_fk("invitation", "ambassador_id"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invitation"),
        # Once per colleague: the first ambassador whose link they opened keeps them.
        sa.UniqueConstraint("colleague_id", name="uq_invitation_colleague_id"),
    )
    op.create_index("ix_invitation_ambassador_id", "invitation", ["ambassador_id"])


def downgrade() -> None:
    op.drop_index("ix_invitation_ambassador_id", table_name="invitation")
    op.drop_table("invitation")
    op.drop_table("ambassador")
    op.drop_index("ix_introduction_introducer_created", table_name="introduction")
    op.drop_index("ix_introduction_other_id", table_name="introduction")
    op.drop_index("ix_introduction_person_id", table_name="introduction")
    op.drop_index("ix_introduction_call_id", table_name="introduction")
    op.drop_table("introduction")
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.drop_column("introduced")
