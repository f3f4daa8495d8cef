"""hardening: one identity per address, one volunteer per person, server-side sessions,
one-use links, token expiry

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00.000000

- ``person``: a unique index on ``lower(email)``. Existing addresses shared by several people
  (in any case) are NOT merged or cleared, because nothing tells which of them is the rightful
  owner (clearing the later one could leave the address with an attacker): the upgrade stops
  with one line naming the address and the handles, and changes nothing. Give each person their
  own address (``askhub import people``, ``PUT /api/people/me``) and run it again.
- ``reply``: a unique index on ``(call_id, person_id)`` for volunteer replies. Duplicates that
  concurrent posts made before this revision are removed, keeping each person's first one; a
  second volunteer row of the same person never meant a second volunteer.
- ``api_token.expires_at``: optional expiry (NULL: until revoked).
- ``web_session``: server-side records of web sign-ins (the cookie holds a random id).
- ``link_use``: one-click links that have acted, so that each acts once.

Note for later migrations: SQLite's batch mode cannot reflect the expression index on
``person``; a ``batch_alter_table("person")`` must drop it first and create it again after.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.db import MigrationRefused

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VOLUNTEER = sa.text("kind = 'volunteer'")


def _refuse_shared_emails() -> None:
    rows = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT lower(email) AS address, handle FROM person WHERE email IS NOT NULL "
                "AND lower(email) IN (SELECT lower(email) FROM person WHERE email IS NOT NULL "
                "GROUP BY lower(email) HAVING count(*) > 1) ORDER BY lower(email), id"
            )
        )
        .all()
    )
    if not rows:
        return
    shared: dict[str, list[str]] = {}
    for address, handle in rows:
        shared.setdefault(address, []).append(f"@{handle}")
    listed = "; ".join(f"{address}: {', '.join(handles)}" for address, handles in shared.items())
    raise MigrationRefused(
        f"{len(shared)} email address(es) belong to more than one person ({listed}); an address "
        "must be one person's (it can sign people in), so give each their own address "
        "(askhub import people, or PUT /api/people/me) and run `askhub db upgrade` again; "
        "revision 0004 was not applied"
    )


def upgrade() -> None:
    _refuse_shared_emails()
    op.create_index("uq_person_lower_email", "person", [sa.text("lower(email)")], unique=True)

    op.execute(
        "DELETE FROM reply WHERE kind = 'volunteer' AND EXISTS (SELECT 1 FROM reply AS first "
        "WHERE first.call_id = reply.call_id AND first.person_id = reply.person_id "
        "AND first.kind = 'volunteer' AND first.id < reply.id)"
    )
    op.create_index(
        "uq_reply_one_volunteer",
        "reply",
        ["call_id", "person_id"],
        unique=True,
        sqlite_where=_VOLUNTEER,
        postgresql_where=_VOLUNTEER,
    )

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_web_session_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_session_token_hash")),
    )
    op.create_index(op.f("ix_web_session_person_id"), "web_session", ["person_id"], unique=False)

    op.create_table(
        "link_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reply_id", sa.Integer(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_link_use_call_id_call"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_link_use_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reply_id"], ["reply.id"], name=op.f("fk_link_use_reply_id_reply"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_use")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_link_use_token_hash")),
    )
    op.create_index(op.f("ix_link_use_call_id"), "link_use", ["call_id"], unique=False)
    op.create_index(op.f("ix_link_use_person_id"), "link_use", ["person_id"], unique=False)


def downgrade() -> None:
    # The expression index first: SQLite's batch mode below reflects person (api_token's
    # foreign key) and cannot reflect it.
    op.drop_index("uq_person_lower_email", table_name="person")
    op.drop_index(op.f("ix_link_use_person_id"), table_name="link_use")
    op.drop_index(op.f("ix_link_use_call_id"), table_name="link_use")
    op.drop_table("link_use")
    op.drop_index(op.f("ix_web_session_person_id"), table_name="web_session")
    op.drop_table("web_session")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    op.drop_index("uq_reply_one_volunteer", table_name="reply")
