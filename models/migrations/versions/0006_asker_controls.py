"""the asker in control: when a call was reopened, and deflections (asked before)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        # A question without a deadline closes a set time after this (or after it was posted).
        batch_op.add_column(sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "deflection",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "call_id",
            sa.Integer(),
            sa.ForeignKey("call.id", name="fk_deflection_call_id_call", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_deflection_person_id_person", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("query", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deflection"),
    )
    op.create_index("ix_deflection_call_id", "deflection", ["call_id"])
    op.create_index("ix_deflection_person_id", "deflection", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_deflection_person_id", table_name="deflection")
    op.drop_index("ix_deflection_call_id", table_name="deflection")
    op.drop_table("deflection")
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_column("reopened_at")
