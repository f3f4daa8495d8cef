"""index change log: every change to a post's vectors, in commit order, for each process to replay

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 05:00:00.000000

Each app process keeps an in-memory index over ``embedding``. Comparing the highest embedding
id and the row count cannot tell that a post was edited (SQLite reuses the deleted ids of the
newest rows; an edit that keeps the passage count keeps the count). Triggers on ``embedding``
append the post id of every inserted, updated or deleted vector row to ``index_change``, so no
code path (web, API, CLI, import, erasure, a cascade from ``post``) can forget to. Each process
replays the rows after the last id it saw and replaces just those posts.

Ids must never be reused (SQLite: AUTOINCREMENT) and must become visible in id order: on
PostgreSQL a sequence hands out ids at insert time, so a transaction that got id 10 could
commit after one that got id 11, and a reader that had seen 11 would skip 10 forever. The
trigger takes a transaction-scoped advisory lock first, which makes writers of vectors commit
one after another from their first vector write on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An arbitrary constant: the advisory lock that orders writers of index_change.
ADVISORY_KEY = 0x61736B68  # "askh"

_PG_FUNCTION = f"""
CREATE FUNCTION index_change_log() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({ADVISORY_KEY});
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO index_change (post_id) VALUES (OLD.post_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.post_id <> OLD.post_id) THEN
        INSERT INTO index_change (post_id) VALUES (NEW.post_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "index_change",
        # No foreign key: the change that matters most is the post's deletion.
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER embedding_index_change AFTER INSERT OR UPDATE OR DELETE ON embedding "
            "FOR EACH ROW EXECUTE FUNCTION index_change_log()"
        )
    else:
        # SQLite has one writer at a time, so AUTOINCREMENT ids are already in commit order.
        for event, row in (("INSERT", "NEW"), ("DELETE", "OLD"), ("UPDATE", "OLD")):
            op.execute(
                f"CREATE TRIGGER embedding_index_change_{event.lower()} AFTER {event} ON embedding "
                f"BEGIN INSERT INTO index_change (post_id) VALUES ({row}.post_id); END"
            )
        op.execute(
            "CREATE TRIGGER embedding_index_change_update_new AFTER UPDATE ON embedding "
            "WHEN NEW.post_id <> OLD.post_id "
            "BEGIN INSERT INTO index_change (post_id) VALUES (NEW.post_id); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER embedding_index_change ON embedding")
        op.execute("DROP FUNCTION index_change_log()")
    else:
        for name in ("insert", "delete", "update", "update_new"):
            op.execute(f"DROP TRIGGER embedding_index_change_{name}")
    op.drop_table("index_change")
