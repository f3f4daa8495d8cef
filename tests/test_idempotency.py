"""A post that is sent again is one call: a client that retries ``POST /api/calls`` after a
lost answer or a 503 (same ``Idempotency-Key``), fifty such retries at once, and a double
submit of the Ask page, each ask the matched colleagues once. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from askhub.calls.service import KEY_REUSED
from askhub.context import AppContext
from askhub.i18n import translator
from models import Call, Match, Nudge
from tests.served import served
from tests.test_api import STAALBOUW, token_for
from tests.test_web_support import csrf_of, sign_in, text_of, web_client, with_passwords

pytestmark = pytest.mark.db


async def _stored(ctx: AppContext) -> tuple[int, int, int]:
    """Calls, asks (matches nudged) and nudges queued, over the whole database."""
    async with ctx.sessions() as session:
        calls = await session.scalar(select(func.count()).select_from(Call))
        asked = await session.scalar(
            select(func.count()).select_from(Match).where(Match.nudged_at.is_not(None))
        )
        nudges = await session.scalar(select(func.count()).select_from(Nudge))
    return int(calls or 0), int(asked or 0), int(nudges or 0)


async def test_a_retried_post_with_the_same_key_is_one_call_asking_everyone_once(
    org: AppContext,
) -> None:
    auth = await token_for(org, "asker")
    before = await _stored(org)
    async with served(org) as client:
        first = await client.post(
            "/api/calls", json=STAALBOUW, headers={**auth, "Idempotency-Key": "retry-1"}
        )
        assert first.status_code == 201, first.text
        assert "idempotent-replayed" not in first.headers
        after_first = await _stored(org)
        assert after_first[0] == before[0] + 1 and after_first[1] > before[1]

        again = await client.post(
            "/api/calls", json=STAALBOUW, headers={**auth, "Idempotency-Key": "retry-1"}
        )
        assert again.status_code == 201, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        assert [m["person"]["handle"] for m in again.json()["matches"]] == [
            m["person"]["handle"] for m in first.json()["matches"]
        ]
        # Nothing new: no second call, nobody asked again, no nudge queued twice.
        assert await _stored(org) == after_first

        # The same key for a different call is refused, naming the header; nothing stored.
        other = {**STAALBOUW, "title": "Wie kent iets van betonbouw?"}
        reused = await client.post(
            "/api/calls", json=other, headers={**auth, "Idempotency-Key": "retry-1"}
        )
        assert reused.status_code == 422, reused.text
        assert reused.json()["errors"][0]["field"] == "Idempotency-Key"
        # In the asker's language (Dutch).
        assert reused.json()["errors"][0]["message"] == translator("nl")(KEY_REUSED)
        assert reused.json()["errors"][0]["message"].startswith("deze sleutel is al gebruikt")
        bad = await client.post(
            "/api/calls", json=STAALBOUW, headers={**auth, "Idempotency-Key": "with space"}
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "Idempotency-Key"
        assert await _stored(org) == after_first

        # Without a key every post is a call of its own, as before; another asker's key is
        # theirs alone.
        plain = await client.post("/api/calls", json=STAALBOUW, headers=auth)
        assert plain.status_code == 201 and plain.json()["id"] != first.json()["id"]
        theirs = await client.post(
            "/api/calls",
            json=STAALBOUW,
            headers={**await token_for(org, "bram.devries"), "Idempotency-Key": "retry-1"},
        )
        assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
    assert (await _stored(org))[0] == before[0] + 3


async def test_fifty_retries_at_once_post_one_call(org: AppContext) -> None:
    """One of them posts; each other one answers that call (201, replayed) or, on PostgreSQL
    while the first is still routing, 409 naming the key (retry shortly) rather than holding a
    database connection in wait; a retry afterwards gets the call. Never a second call."""
    auth = {**await token_for(org, "asker"), "Idempotency-Key": "burst-7"}
    before = await _stored(org)
    async with served(org) as client:
        responses = await asyncio.gather(
            *(client.post("/api/calls", json=STAALBOUW, headers=auth) for _ in range(50))
        )
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {201, 409}, [r.text[:200] for r in responses]
        posted = [r for r in responses if r.status_code == 201]
        first = [r for r in posted if "idempotent-replayed" not in r.headers]
        assert len(first) == 1 and len({r.json()["id"] for r in posted}) == 1
        busy = [r for r in responses if r.status_code == 409]
        assert all(r.json()["errors"][0]["field"] == "Idempotency-Key" for r in busy)
        retried = await client.post("/api/calls", json=STAALBOUW, headers=auth)
        assert retried.status_code == 201 and retried.headers["idempotent-replayed"] == "true"
        assert retried.json()["id"] == first[0].json()["id"]
    calls, asked, nudges = await _stored(org)
    assert calls == before[0] + 1
    wave = sum(1 for m in first[0].json()["matches"] if m["state"] != "proposed")
    assert wave > 0 and asked == before[1] + wave and nudges == before[2] + wave


async def test_a_double_submitted_ask_form_posts_once_and_says_so(org: AppContext) -> None:
    await with_passwords(org, ["asker"])
    before = await _stored(org)
    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        page = (await asker.get("/calls/new")).text
        found = re.search(r'name="request_key" value="([^"]+)"', page)
        assert found, "the Ask form carries no request key"
        form: dict[str, Any] = {
            "_csrf_token": csrf_of(page),
            "request_key": found.group(1),
            "action": "post",
            **{k: v for k, v in STAALBOUW.items() if k != "tags"},
            "tags": "staalbouw",
        }
        first = await asker.post("/calls/new", data=form, follow_redirects=False)
        second = await asker.post("/calls/new", data=form, follow_redirects=False)
        assert first.status_code == second.status_code == 303, (first.text[:300], second.text)
        assert first.headers["location"] == second.headers["location"]
        calls = (await _stored(org))[0]
        assert calls == before[0] + 1
        # The asker (who reads Dutch) is told the second submit asked nobody again.
        shown = await asker.get(second.headers["location"])
        assert "Deze oproep was al geplaatst; niemand is opnieuw gevraagd." in text_of(shown.text)

        # The same form changed and sent again is a new call.
        changed = await asker.post(
            "/calls/new", data={**form, "title": "Wie kent betonbouw?"}, follow_redirects=False
        )
        assert changed.status_code == 303
        assert changed.headers["location"] != first.headers["location"]
    assert (await _stored(org))[0] == before[0] + 2
