"""One logfmt line per HTTP request: method, route template, status, duration, request id, and
never a one-click link's token, a query string or a bearer token."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from askhub.app import create_app
from askhub.calls.links import action_url
from askhub.context import AppContext
from askhub.logs import LogfmtFormatter
from askhub.people.service import get_by_handle
from tests.test_api import STAALBOUW, token_for


@pytest.fixture
async def client(org: AppContext) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings=org.settings, embedder=org.routing.embedder)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def fields(line: str) -> dict[str, str]:
    return {key: value.strip('"') for key, value in PAIR.findall(line)}


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, str]]:
    return [fields(r.getMessage()) for r in caplog.records if r.name == "askhub.requests"]


async def test_each_request_is_one_line_naming_the_route_never_the_token_or_query(
    client: AsyncTestClient[Any], org: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    auth = await token_for(org, "asker")
    bearer = auth["Authorization"].removeprefix("Bearer ")
    with caplog.at_level(logging.INFO, logger="askhub.requests"):
        posted = await client.post("/api/calls", json=STAALBOUW, headers=auth)
        assert posted.status_code == 201
        call = posted.json()
        async with org.sessions() as session:
            expert = await get_by_handle(session, call["matches"][0]["person"]["handle"])
        assert expert is not None
        url = action_url(org.settings, call["id"], expert.id, "reply")
        token = url.rsplit("/", 1)[1]
        page = await client.get(
            url.removeprefix(org.settings.base_url) + "?note=query-secret",
            headers={"X-Request-ID": "proxy-4711"},
        )
        assert page.status_code == 200
        missing = await client.get(f"/no/such/{token}", headers={"X-Request-ID": "a b\nforged"})
        assert missing.status_code == 404

    lines = request_lines(caplog)
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("POST", "/api/calls", "201"),
        ("GET", "/act/{token}", "200"),
        ("GET", "-", "404"),
    ]
    assert all(float(x["duration_ms"]) >= 0 for x in lines)
    # The request id is echoed: a proxy's plain one is kept, an unsafe one replaced.
    assert lines[1]["request_id"] == page.headers["x-request-id"] == "proxy-4711"
    assert lines[0]["request_id"] == posted.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", missing.headers["x-request-id"])
    assert lines[2]["request_id"] == missing.headers["x-request-id"]
    assert len({x["request_id"] for x in lines}) == 3
    # (The test client, httpx, logs its URLs too; AskHub's own lines are what is checked.)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("askhub"))
    assert token not in ours and "query-secret" not in ours
    assert bearer not in ours and "forged" not in ours


def test_a_line_stays_one_line_whatever_a_value_holds() -> None:
    record = logging.LogRecord("askhub", logging.WARNING, __file__, 1, "a\nb c", None, None)
    line = LogfmtFormatter().format(record)
    assert "\n" not in line
    assert line.startswith("ts=") and fields(line)["level"] == "warning"
    assert fields(line)["logger"] == "askhub" and line.endswith('msg="a\\nb c"')
