"""index change notify: a change to the stored vectors wakes every app process (PostgreSQL);
the people who may be unavailable get a partial index

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 13:00:00.000000

Each app process keeps its index in step with ``embedding`` by replaying ``index_change``
(migration 0007). On PostgreSQL a trigger on that log NOTIFYs ``askhub_index``, which each
process's follower LISTENs on (askhub/routing/follower.py), so another process's write reaches
the replica within moments instead of at the next poll.

A trigger, not a NOTIFY sent by the service, for the reasons the log itself is written by
triggers: no code path that changes vectors (web, API, CLI, import, erasure, a cascade from
``post``, a restore, psql by hand) can forget it, and it runs in the transaction that writes
the ``index_change`` row, so the notification is delivered exactly when that row becomes
visible (at commit) and never for a change rolled back. The payload is empty on purpose:
PostgreSQL folds identical notifications of one transaction into one, so an import of
thousands of passages wakes each process once; the follower reads the log's head itself.

SQLite has one app process and no NOTIFY: nothing to do there.

Every routing call also reads the people who may be unavailable now (away, opted out): a
partial index holds just those, so the call no longer scans the whole person table (33 ms at
100,000 people on PostgreSQL). Both databases; the query names the index's very predicate
(models.entities.MAYBE_UNAVAILABLE).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# askhub.routing.follower.CHANNEL (migrations do not import the app).
CHANNEL = "askhub_index"
# models.entities.MAYBE_UNAVAILABLE, as of this revision.
MAYBE_UNAVAILABLE = "availability <> 'available'"

_PG_FUNCTION = f"""
CREATE FUNCTION index_change_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_index(
        "ix_person_not_available",
        "person",
        ["id"],
        postgresql_where=sa.text(MAYBE_UNAVAILABLE),
        sqlite_where=sa.text(MAYBE_UNAVAILABLE),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_PG_FUNCTION)
    op.execute(
        "CREATE TRIGGER index_change_notify AFTER INSERT ON index_change "
        "FOR EACH STATEMENT EXECUTE FUNCTION index_change_notify()"
    )


def downgrade() -> None:
    op.drop_index("ix_person_not_available", table_name="person")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER index_change_notify ON index_change")
    op.execute("DROP FUNCTION index_change_notify()")
