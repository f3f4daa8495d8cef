"""call request key: a retried POST of the same call creates it once

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 16:00:00.000000

A client that sent ``POST /api/calls`` and got no answer, or a 503 while the database
restarted, cannot know whether its call was stored; retrying used to post it twice, and the
same colleagues were asked twice. The client may name its request (``Idempotency-Key``; the
Ask page sends a key of its own per form), stored with the call: a second request with the
same key from the same asker finds the first call instead of making another. The unique
constraint is what holds this when the two requests arrive at once: the second insert waits
for the first transaction and then fails on the key. NULL keys (no header) never clash.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call") as batch:
        batch.add_column(sa.Column("request_key", sa.String(length=100), nullable=True))
        batch.create_unique_constraint("uq_call_asker_request_key", ["asker_id", "request_key"])


def downgrade() -> None:
    with op.batch_alter_table("call") as batch:
        batch.drop_constraint("uq_call_asker_request_key", type_="unique")
        batch.drop_column("request_key")
