"""Erasure (GDPR art. 17): a person asks to leave, or an admin erases them, and their profile,
posts and vectors leave the database and the running index; their replies stay for the askers
without their name."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from askhub.app import create_app
from askhub.calls.links import action_url
from askhub.context import AppContext
from askhub.people.service import ERASED_HANDLE_PREFIX, ERASED_NAME, get_by_handle
from askhub.privacy.service import erase
from models import (
    ApiToken,
    Call,
    Embedding,
    LinkUse,
    Match,
    Nudge,
    Person,
    Post,
    Reply,
    Role,
    WebSession,
)
from tests.test_api import STAALBOUW, token_for
from tests.test_web_support import sign_in, submit, web_client, with_passwords

# Bram's sourdough post is the only place this word occurs.
BREAD = {"kind": "question", "title": "Wie bakt zuurdesembrood?", "tags": ["zuurdesembrood"]}


@pytest.fixture
async def client(org: AppContext) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings=org.settings, embedder=org.routing.embedder)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def counts(ctx: AppContext, person_id: int) -> dict[str, int]:
    async with ctx.sessions() as session:
        posts = select(Post.id).where(Post.author_id == person_id)
        return {
            "posts": await session.scalar(select(func.count()).select_from(posts.subquery())),
            "vectors": await session.scalar(
                select(func.count()).where(Embedding.post_id.in_(posts))
            ),
            "tokens": await session.scalar(
                select(func.count()).where(ApiToken.person_id == person_id)
            ),
            "matches": await session.scalar(
                select(func.count()).where(Match.person_id == person_id)
            ),
            "nudges": await session.scalar(
                select(func.count()).where(Nudge.person_id == person_id)
            ),
            "calls": await session.scalar(select(func.count()).where(Call.asker_id == person_id)),
        }  # type: ignore[return-value]


async def person_id(ctx: AppContext, handle: str) -> int:
    async with ctx.sessions() as session:
        person = await get_by_handle(session, handle)
        assert person is not None
        return person.id


async def test_erased_person_is_routed_to_by_nobody_and_leaves_no_data(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    asker = await token_for(org, "asker")
    before = (await client.post("/api/calls", json=BREAD, headers=asker)).json()
    assert before["matches"][0]["person"]["handle"] == "bram.devries"
    bram_id = await person_id(org, "bram.devries")
    bram = await token_for(org, "bram.devries")
    # Bram answers, asks a call of his own and is asked: all of it is his data.
    answered = await client.post(
        f"/api/calls/{before['id']}/replies", json={"body": "Ik bak elke week!"}, headers=bram
    )
    assert answered.status_code == 201
    accepted = await client.post(
        f"/api/calls/{before['id']}/replies/{answered.json()['id']}/accept", headers=asker
    )
    assert accepted.status_code == 200
    own = await client.post("/api/calls", json=STAALBOUW, headers=bram)
    assert own.status_code == 201

    erased = await client.delete("/api/people/me", headers=bram)
    assert erased.status_code == 200, erased.text
    assert erased.json()["posts"] >= 3 and erased.json()["calls"] == 1
    assert erased.json()["replies_kept"] == 1

    # The same process routes the same words: nobody (better nobody than a stranger).
    after = (await client.post("/api/calls", json=BREAD, headers=asker)).json()
    assert after["matches"] == []
    # So does a process that starts now, from the database alone (for the same asker: her
    # own call about bread is her history, as a call of hers leaves her out).
    fresh = AppContext.create(org.settings, org.routing.embedder)
    try:
        async with fresh.sessions() as session:
            routed = await fresh.routing.route(
                session, "Wie bakt zuurdesembrood?", exclude={await person_id(org, "asker")}
            )
        assert all(r.person.id != bram_id for r in routed)
        assert routed == []
    finally:
        await fresh.close()

    assert await counts(org, bram_id) == {
        "posts": 0,
        "vectors": 0,
        "tokens": 0,
        "matches": 0,
        "nudges": 0,
        "calls": 0,
    }
    assert (await client.get("/api/people/me", headers=bram)).status_code == 401
    assert (await client.get("/api/people/bram.devries", headers=asker)).status_code == 404
    everyone = (await client.get("/api/people", headers=asker)).json()
    assert "bram.devries" not in {p["handle"] for p in everyone} and len(everyone) == 11

    # The asker keeps the answer, without Bram's name.
    call = (await client.get(f"/api/calls/{before['id']}", headers=asker)).json()
    [reply] = call["replies"]
    assert reply["body"] == "Ik bak elke week!" and reply["accepted"]
    assert reply["person"]["name"] == ERASED_NAME
    assert reply["person"]["handle"].startswith(ERASED_HANDLE_PREFIX)
    async with org.sessions() as session:
        row = await session.get(Person, bram_id)
        assert row is not None
        assert (row.email, row.bio, row.skills, row.password_hash) == (None, "", [], None)
        messages = (await session.scalars(select(Nudge.payload))).all()
        assert "Bram" not in str(messages)


async def test_only_admins_erase_other_people(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    member = await token_for(org, "tom.bakker")
    refused = await client.delete("/api/people/amy.chen", headers=member)
    assert refused.status_code == 403
    assert (await client.get("/api/people/amy.chen", headers=member)).status_code == 200
    admin = await token_for(org, "asker", Role.ADMIN)
    missing = await client.delete("/api/people/nobody", headers=admin)
    assert missing.status_code == 404
    done = await client.delete("/api/people/amy.chen", headers=admin)
    assert done.status_code == 200, done.text
    assert (await client.get("/api/people/amy.chen", headers=member)).status_code == 404
    again = await client.delete("/api/people/amy.chen", headers=admin)
    assert again.status_code == 404


async def test_erase_my_account_on_the_profile_page_signs_me_out(org: AppContext) -> None:
    await with_passwords(org, ["henk.mulder"])
    henk_id = await person_id(org, "henk.mulder")
    async with web_client(org) as client:
        await sign_in(client, "henk.mulder")
        wrong = await submit(client, "/profile", "/profile/erase", {"confirm_handle": "henk"})
        assert wrong.status_code == 422
        assert (await counts(org, henk_id))["posts"] > 0
        done = await submit(client, "/profile", "/profile/erase", {"confirm_handle": "henk.mulder"})
        assert done.status_code == 303 and done.headers["location"] == "/login"
        assert (await client.get("/", follow_redirects=False)).status_code == 303
    assert (await counts(org, henk_id))["posts"] == 0
    async with org.sessions() as session:
        assert await get_by_handle(session, "henk.mulder") is None


def test_cli_people_erase(org_cli_env: dict[str, str]) -> None:
    def askhub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "askhub.cli", *args],
            env=org_cli_env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    done = askhub("people", "erase", "liam.obrien", "--yes")
    assert done.returncode == 0, done.stderr
    assert "erased @liam.obrien" in done.stdout
    missing = askhub("people", "erase", "liam.obrien", "--yes")
    assert missing.returncode == 2
    assert missing.stderr == "askhub: no person with handle 'liam.obrien'\n"
    routed = askhub("route", "Upgrading Kubernetes clusters without downtime", "--json")
    assert routed.returncode == 0 and "liam.obrien" not in routed.stdout


@pytest.fixture
def org_cli_env(org: AppContext, cli_env: dict[str, str]) -> dict[str, str]:
    return cli_env


async def test_replies_on_the_erased_persons_own_calls_go_with_the_call(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    sanne = await token_for(org, "sanne.visser")
    call = (await client.post("/api/calls", json=BREAD, headers=sanne)).json()
    bram = await token_for(org, "bram.devries")
    reply = await client.post(f"/api/calls/{call['id']}/replies", json={"body": "ik"}, headers=bram)
    assert reply.status_code == 201
    assert (await client.delete("/api/people/me", headers=sanne)).status_code == 200
    async with org.sessions() as session:
        assert await session.get(Call, call["id"]) is None
        assert await session.scalar(select(func.count()).select_from(Reply)) == 0
    assert (await client.get("/api/people/me", headers=bram)).status_code == 200


async def test_nobody_can_forward_a_call_to_an_erased_person(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    admin = await token_for(org, "asker", Role.ADMIN)
    assert (await client.delete("/api/people/eva.brown", headers=admin)).status_code == 200
    async with org.sessions() as session:
        placeholder = await session.scalar(select(Person.handle).where(Person.name == ERASED_NAME))
    assert placeholder is not None
    call = (await client.post("/api/calls", json=STAALBOUW, headers=admin)).json()
    expert = await token_for(org, call["matches"][0]["person"]["handle"])
    response = await client.post(
        f"/api/calls/{call['id']}/replies",
        json={"kind": "forward", "forward_to": placeholder},
        headers=expert,
    )
    assert response.status_code == 422 and "forward_to" in response.text


async def test_erasure_ends_every_web_session_and_forgets_the_links_used(org: AppContext) -> None:
    """Sessions (server-side since issue 10) and the record of one-click links used are the
    person's data too: they go, every browser is signed out, and a link of theirs acts for
    nobody afterwards."""
    await with_passwords(org, ["bram.devries"])
    bram_id = await person_id(org, "bram.devries")
    async with web_client(org) as laptop, web_client(org) as phone:
        await sign_in(laptop, "bram.devries")
        await sign_in(phone, "bram.devries")
        asker = await token_for(org, "asker")
        call = (await laptop.post("/api/calls", json=BREAD, headers=asker)).json()
        strip = org.settings.base_url
        decline = action_url(org.settings, call["id"], bram_id, "decline").removeprefix(strip)
        reply = action_url(org.settings, call["id"], bram_id, "reply").removeprefix(strip)
        assert (await laptop.post(decline, data={"body": ""})).status_code == 200
        async with org.sessions() as session:
            assert await session.scalar(select(func.count()).where(WebSession.person_id == bram_id))
            assert await session.scalar(select(func.count()).where(LinkUse.person_id == bram_id))

        assert await erase(org.sessions, org.routing, bram_id) is not None

        assert (await phone.get("/profile", follow_redirects=False)).status_code == 303
        assert (await laptop.get("/profile", follow_redirects=False)).status_code == 303
        async with org.sessions() as session:
            for column in (WebSession.person_id, LinkUse.person_id):
                assert await session.scalar(select(func.count()).where(column == bram_id)) == 0
        # With its use forgotten, the link must not act again as the placeholder.
        late = await laptop.post(reply, data={"body": "toch een antwoord"})
        assert late.status_code == 404
        assert "<form" not in (await laptop.get(reply)).text
    async with org.sessions() as session:
        kinds = (await session.scalars(select(Reply.kind).where(Reply.call_id == call["id"]))).all()
    assert list(kinds) == ["decline"]
