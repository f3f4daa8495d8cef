"""Regression tests for issue 10's input attacks, one per attack and named after it: what a
careless client or an attacker sends gets a 4xx naming what was wrong, never a 5xx."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine

from askhub.app import create_app
from askhub.calls.links import action_url
from askhub.context import AppContext
from askhub.imports.people import ImportFileError, read_people_file
from askhub.nudges.channels.base import DeliveryError, OutboundMessage, Recipient
from askhub.nudges.channels.webhook import WebhookChannel, WebhookSettings
from askhub.people.service import get_by_handle
from models import ApiToken, Role
from tests.conftest import ORG
from tests.sinks import WebhookReceiver
from tests.test_api import STAALBOUW, token_for
from tests.test_web_support import sign_in, submit, text_of, web_client, with_passwords

BEYOND_BIGINT = 2**63
BEYOND_INTEGER = 2**31


@pytest.fixture
async def client(org: AppContext) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings=org.settings, embedder=org.routing.embedder)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


def field_errors(response: Any) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


# -- item 7: no 5xx on bad input ------------------------------------------------------------


async def test_deeply_nested_json_is_refused_before_decoding(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    nested = b"[" * 50_000 + b"]" * 50_000
    body = b'{"kind": "question", "title": "deep", "tags": ' + nested + b"}"
    response = await client.post(
        "/api/calls", content=body, headers={**auth, "content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert field_errors(response) == {"body"}
    # Brackets inside strings are text, not nesting.
    text = {**STAALBOUW, "body": "[" * 1000}
    assert (await client.post("/api/calls", json=text, headers=auth)).status_code == 201


@pytest.mark.parametrize("big", [BEYOND_BIGINT, BEYOND_INTEGER])
async def test_ids_beyond_the_database_integer_range_are_404_not_overflow(
    client: AsyncTestClient[Any], org: AppContext, big: int
) -> None:
    auth = await token_for(org, "asker")
    for method, path in [
        ("GET", f"/api/calls/{big}"),
        ("POST", f"/api/calls/{big}/replies"),
        ("POST", f"/api/calls/1/replies/{big}/accept"),
        ("POST", f"/api/inbox/{big}/seen"),
    ]:
        response = await client.request(method, path, json={"body": "hi"}, headers=auth)
        assert response.status_code == 404, (path, response.text)


@pytest.mark.parametrize("big", [BEYOND_BIGINT, BEYOND_INTEGER])
async def test_page_ids_beyond_the_database_integer_range_are_404_not_overflow(
    org: AppContext, big: int
) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as client:
        await sign_in(client, "asker")
        for path in [f"/calls/{big}", f"/posts/{big}/edit"]:
            response = await client.get(path)
            assert response.status_code == 404, (path, response.text[:300])
            assert "text/html" in response.headers["content-type"]


@pytest.mark.parametrize("big", [BEYOND_BIGINT, BEYOND_INTEGER])
async def test_offset_beyond_the_database_integer_range_is_422_naming_offset(
    client: AsyncTestClient[Any], org: AppContext, big: int
) -> None:
    auth = await token_for(org, "asker")
    for path in ["/api/calls", "/api/people", "/api/inbox", "/api/people/asker/posts"]:
        response = await client.get(path, params={"offset": big}, headers=auth)
        assert response.status_code == 422, (path, response.text)
        assert field_errors(response) == {"offset"}


@pytest.mark.parametrize(
    ("path", "method", "payload", "field"),
    [
        ("/api/calls", "POST", {**STAALBOUW, "title": "staal\x00bouw"}, "title"),
        ("/api/calls", "POST", {**STAALBOUW, "body": "a\x00b"}, "body"),
        ("/api/calls", "POST", {**STAALBOUW, "tags": ["ok", "x\x00"]}, "tags[1]"),
        ("/api/posts", "POST", {"title": "t", "body": "b\x00"}, "body"),
        ("/api/people/me", "PUT", {"name": "A\x00"}, "name"),
        ("/api/people/me", "PUT", {"bio": "\x00"}, "bio"),
        ("/api/people/me", "PUT", {"email": "a\x00@b.example"}, "email"),
        # PostgreSQL refuses NUL in text: a 500 there until the schema refused it (schemathesis).
        (
            "/api/people",
            "POST",
            {
                "handle": "new.person",
                "name": "New",
                "posts": [{"body": "b", "in_reply_to": "\x00"}],
            },
            "posts[0].in_reply_to",
        ),
    ],
)
async def test_nul_byte_in_a_text_field_is_422_naming_the_field(
    client: AsyncTestClient[Any],
    org: AppContext,
    path: str,
    method: str,
    payload: dict[str, Any],
    field: str,
) -> None:
    auth = await token_for(org, "asker", Role.ADMIN)  # POST /api/people is for admins
    response = await client.request(method, path, json=payload, headers=auth)
    assert response.status_code == 422, response.text
    assert field_errors(response) == {field}


@pytest.mark.parametrize(
    ("path", "method", "payload", "field"),
    [
        ("/api/calls", "POST", {**STAALBOUW, "deadline": "9999-12-31T23:00:00-05:00"}, "deadline"),
        ("/api/people/me", "PUT", {"away_until": "0001-01-01T00:00:00+05:00"}, "away_until"),
        (
            "/api/people",
            "POST",
            {
                "handle": "new.person",
                "name": "New",
                "posts": [{"body": "b", "created_at": "9999-12-31T23:59:00-01:00"}],
            },
            "posts[0].created_at",
        ),
    ],
)
async def test_datetime_beyond_the_utc_range_is_422_naming_the_field(
    client: AsyncTestClient[Any],
    org: AppContext,
    path: str,
    method: str,
    payload: dict[str, Any],
    field: str,
) -> None:
    auth = await token_for(org, "asker", Role.ADMIN)
    response = await client.request(method, path, json=payload, headers=auth)
    assert response.status_code == 422, response.text
    assert field_errors(response) == {field}


async def test_nul_byte_in_a_reply_is_422_naming_the_field(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    call = (await client.post("/api/calls", json=STAALBOUW, headers=auth)).json()
    response = await client.post(
        f"/api/calls/{call['id']}/replies", json={"body": "yes\x00"}, headers=auth
    )
    assert response.status_code == 422 and field_errors(response) == {"body"}
    assert (await client.get(f"/api/calls/{call['id']}", headers=auth)).json()["replies"] == []


async def test_nul_byte_in_a_query_parameter_is_422_naming_it(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    for name in ("q", "department"):
        response = await client.get("/api/people", params={name: "a\x00"}, headers=auth)
        assert response.status_code == 422, response.text
        assert field_errors(response) == {name}


async def test_nul_byte_in_a_page_form_is_422_naming_the_field(org: AppContext) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as client:
        login = await client.get("/login")
        token = login.text.split('name="_csrf_token" value="')[1].split('"')[0]
        response = await client.post(
            "/login", data={"_csrf_token": token, "handle": "asker\x00", "password": "x"}
        )
        assert response.status_code == 422, response.text[:300]
        assert "NUL" in response.text


async def test_nul_byte_in_a_static_file_path_is_404(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/static/%00askhub.css")
    assert response.status_code == 404
    assert (await client.get("/static/askhub.css")).status_code == 200


async def test_whitespace_only_title_is_422_naming_title(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    for title in ["     ", "\t\n  \u00a0 "]:
        response = await client.post("/api/calls", json={**STAALBOUW, "title": title}, headers=auth)
        assert response.status_code == 422, response.text
        assert field_errors(response) == {"title"}
    assert (await client.get("/api/calls", params={"mine": "true"}, headers=auth)).json() == []


@pytest.mark.sqlite_only
async def test_wrong_method_is_405_with_an_allow_header(client: AsyncTestClient[Any]) -> None:
    response = await client.request("PATCH", "/api/health")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"].split(", ")


@pytest.mark.sqlite_only
async def test_openapi_documents_public_health_errors_and_limits(
    client: AsyncTestClient[Any],
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    assert not paths["/api/health"]["get"].get("security")
    assert paths["/api/calls"]["post"]["security"] == [{"bearer": []}]
    assert {"401", "413", "422", "503"} <= set(paths["/api/calls"]["post"]["responses"])
    assert {"401", "404", "409", "413", "422"} <= set(
        paths["/api/calls/{call_id}/replies"]["post"]["responses"]
    )
    assert {"401", "403", "404", "409", "422"} <= set(
        paths["/api/calls/{call_id}/replies/{reply_id}/accept"]["post"]["responses"]
    )
    ids = paths["/api/calls/{call_id}"]["get"]["parameters"]
    assert [p["schema"].get("maximum") for p in ids if p["name"] == "call_id"] == [2**31 - 1]
    components = schema["components"]["schemas"]
    create = next(v for k, v in components.items() if k.endswith("CallCreate"))
    assert create["additionalProperties"] is False
    tags = create["properties"]["tags"]
    assert tags["items"]["maxLength"] == 50 and tags["items"]["minLength"] == 1


# -- item 9: headers on every page ----------------------------------------------------------


def assert_protected(response: Any, personal: bool = True) -> None:
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"], headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    if personal:
        assert headers["cache-control"] == "no-store"


@pytest.mark.sqlite_only
async def test_one_click_link_pages_send_csp_frame_and_cache_headers(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    call = (await client.post("/api/calls", json=STAALBOUW, headers=auth)).json()
    person_id = await _person_id(org, call["matches"][0]["person"]["handle"])
    url = action_url(org.settings, call["id"], person_id, "reply")
    page = await client.get(url.removeprefix(org.settings.base_url))
    assert page.status_code == 200 and "<form" in page.text
    assert_protected(page)
    invalid = await client.get("/act/not-a-valid-link")
    assert invalid.status_code == 403
    assert_protected(invalid)


@pytest.mark.sqlite_only
async def test_error_pages_and_api_answers_send_security_headers(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    assert_protected(await client.get("/no/such/page"))
    assert_protected(await client.get("/api/people/me", headers=auth))
    assert_protected(await client.get("/api/calls"))  # 401
    static = await client.get("/static/askhub.css")
    assert_protected(static, personal=False)
    assert "public" in static.headers["cache-control"]


async def _person_id(ctx: AppContext, handle: str) -> int:
    async with ctx.sessions() as session:
        person = await get_by_handle(session, handle)
        assert person is not None
        return person.id


# -- item 4: SSRF through webhooks ------------------------------------------------------------

INTERNAL_URLS = [
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "https://127.0.0.1:8000/api/people",  # the server itself
    "https://localhost/",  # a name for loopback
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",  # loopback written as IPv6
    "https://2130706433/",  # 127.0.0.1 written as a number
    "https://10.1.2.3/hook",
    "https://192.168.1.1/hook",
    "https://[fd00:ec2::254]/",  # AWS's IPv6 metadata (unique local)
    "https://0.0.0.0/",
]


@pytest.mark.sqlite_only  # the URL is refused before anything is stored
@pytest.mark.parametrize("url", INTERNAL_URLS)
async def test_webhook_to_internal_or_metadata_address_is_refused_on_save(
    client: AsyncTestClient[Any], org: AppContext, url: str
) -> None:
    auth = await token_for(org, "asker")
    response = await client.put("/api/people/me", json={"webhook_url": url}, headers=auth)
    assert response.status_code == 422, response.text
    assert field_errors(response) == {"webhook_url"}
    me = (await client.get("/api/people/me", headers=auth)).json()
    assert me["preferences"]["webhook_url"] is None


@pytest.mark.sqlite_only
async def test_plain_http_webhook_is_refused_on_save(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    response = await client.put(
        "/api/people/me", json={"webhook_url": "http://hooks.example.com/x"}, headers=auth
    )
    assert response.status_code == 422 and field_errors(response) == {"webhook_url"}
    assert "https" in response.json()["detail"]


async def test_webhook_to_metadata_address_is_refused_on_the_profile_page_in_dutch(
    org: AppContext,
) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as client:
        await sign_in(client, "asker")
        response = await submit(
            client,
            "/profile",
            "/profile/preferences",
            {"channels": ["webhook"], "webhook_url": "https://169.254.169.254/"},
            headers={"accept-language": "nl"},
        )
        assert response.status_code == 422
        assert "AskHub stuurt daar geen webhooks heen" in text_of(response.text)


async def test_allow_listed_internal_host_may_be_saved(org: AppContext) -> None:
    async with web_client(org, webhook_allow_hosts=("127.0.0.1",)) as client:
        auth = await token_for(org, "asker")
        url = "http://127.0.0.1:9/hook"
        response = await client.put("/api/people/me", json={"webhook_url": url}, headers=auth)
        assert response.status_code == 200, response.text
        assert response.json()["preferences"]["webhook_url"] == url


@pytest.mark.parametrize("url", ["{receiver}", "{receiver_by_name}", "https://169.254.169.254/"])
async def test_webhook_to_internal_address_is_refused_at_send_time(url: str) -> None:
    # A URL stored before this rule, or a name that resolves inward only later.
    channel = WebhookChannel(WebhookSettings(secret="s", timeout=2))
    try:
        with WebhookReceiver() as receiver:
            target = url.format(
                receiver=receiver.url,
                receiver_by_name=receiver.url.replace("127.0.0.1", "localhost"),
            )
            message = _message(target)
            with pytest.raises(DeliveryError) as failure:
                await channel.send(message)
            assert failure.value.permanent
            assert receiver.requests == []
    finally:
        await channel.aclose()


async def test_allow_listed_loopback_receiver_gets_the_webhook() -> None:
    channel = WebhookChannel(WebhookSettings(secret="s", timeout=5, allow_hosts=("127.0.0.0/8",)))
    try:
        with WebhookReceiver() as receiver:
            await channel.send(_message(receiver.url.replace("127.0.0.1", "localhost")))
            [request] = await receiver.wait_for_async(1)
            assert request.json()["askhub"]["kind"] == "ask"
    finally:
        await channel.aclose()


def _message(url: str) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key="k-1",
        kind="ask",
        recipient=Recipient(handle="amy", name="Amy", webhook_url=url),
        subject="Who knows staalbouw?",
        intro="You were asked.",
    )


# -- item 8: writes out of the read path ----------------------------------------------------


@contextmanager
def statements() -> Iterator[list[tuple[int, str]]]:
    """Every SQL statement any engine runs meanwhile, with its DBAPI connection's id."""
    seen: list[tuple[int, str]] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append((id(conn.connection.dbapi_connection), " ".join(statement.split())))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def updates_of(seen: list[tuple[int, str]], table: str) -> list[tuple[int, str]]:
    names = (f"UPDATE {table} ", f'UPDATE "{table}" ')
    return [(c, s) for c, s in seen if s.startswith(names)]


async def test_token_use_is_written_at_most_once_a_minute(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    with statements() as seen:
        for _ in range(5):
            assert (await client.get("/api/people/me", headers=auth)).status_code == 200
    assert len(updates_of(seen, "api_token")) == 1
    async with org.sessions() as session, session.begin():
        await session.execute(
            update(ApiToken).values(last_used_at=datetime.now(UTC) - timedelta(minutes=2))
        )
    with statements() as seen:
        assert (await client.get("/api/calls", headers=auth)).status_code == 200
    assert len(updates_of(seen, "api_token")) == 1
    async with org.sessions() as session:
        used = await session.scalar(select(ApiToken.last_used_at))
    assert used is not None and datetime.now(UTC) - used < timedelta(minutes=1)


async def test_viewing_a_call_records_seen_once_outside_the_request_transaction(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call = (
        await client.post("/api/calls", json=STAALBOUW, headers=await token_for(org, "asker"))
    ).json()
    asked = next(m["person"]["handle"] for m in call["matches"] if m["state"] == "nudged")
    auth = await token_for(org, asked)
    await client.get("/api/people/me", headers=auth)  # the token's first use is written now
    with statements() as seen:
        first = await client.get(f"/api/calls/{call['id']}", headers=auth)
    [mine] = first.json()["matches"]
    assert mine["state"] == "seen"
    request_connections = {c for c, s in seen if "FROM call" in s}
    writes = updates_of(seen, "match")
    assert writes and not request_connections & {c for c, _ in writes}
    with statements() as seen:
        again = await client.get(f"/api/calls/{call['id']}", headers=auth)
    assert again.json()["matches"][0]["state"] == "seen"
    assert [s for _, s in seen if s.upper().startswith(("UPDATE", "INSERT", "DELETE"))] == []


# -- item 9: the import reads what editors write ----------------------------------------------


def _askhub(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "askhub.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_import_file_with_a_utf8_byte_order_mark_is_read(tmp_path: Path) -> None:
    lines = ORG.read_text(encoding="utf-8").splitlines()[:2]
    path = tmp_path / "people.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + "\r\n".join(lines).encode())
    records = read_people_file(path)
    assert [r.handle for r in records] == [json.loads(line)["handle"] for line in lines]


@pytest.mark.sqlite_only  # the file is refused while it is read, before any row is written
def test_import_with_bad_utf8_names_the_line_and_exits_2(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    lines = ORG.read_text(encoding="utf-8").splitlines()[:3]
    path = tmp_path / "people.jsonl"
    path.write_bytes(
        lines[0].encode() + b"\n" + lines[1].encode() + b"\n" + b'{"handle": "x\xff"}\n'
    )
    with pytest.raises(ImportFileError, match="line 3: not UTF-8"):
        read_people_file(path)
    result = _askhub(cli_env, "import", "people", str(path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "people.jsonl line 3: not UTF-8" in result.stderr
    assert "Traceback" not in result.stderr
