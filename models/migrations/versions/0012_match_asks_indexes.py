"""match asks indexes: how often each candidate was asked this week and how many asks wait for
them, read by index at any number of earlier matches.

Every new call counts, for each person it may ask, their asks in the budget window and their
asks still open (``askhub.routing.availability.asks_and_waiting``). With only ``person_id``
indexed both counts read every match the person ever had: an expert matched by 1,300 earlier
calls made a wave cost 22-27 ms on PostgreSQL (bench_load's organisation after a few thousand
posted calls). ``(person_id, nudged_at)`` bounds the first to the window, ``(person_id, state)``
the second to the asks in flight.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_match_person_nudged", "match", ["person_id", "nudged_at"])
    op.create_index("ix_match_person_state", "match", ["person_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_match_person_state", table_name="match")
    op.drop_index("ix_match_person_nudged", table_name="match")
