"""A start warms up what the first routed call would otherwise pay for (issue 13, item 7): the
model's first encode and the lexical index's build happen before the first request, so the
first POST /api/calls does the same work as the second. (Work counted, not timed.)"""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from askhub.app import create_app
from askhub.context import AppContext
from indexer.embedders import Embedder
from indexer.lexical import LexicalIndex
from tests.served import people_with_tokens
from tests.test_backup import CountingEmbedder


async def test_the_first_call_after_a_start_does_what_the_second_does(
    org: AppContext, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[int] = []
    build = LexicalIndex._build

    def counted_build(self: LexicalIndex) -> None:
        builds.append(len(self))
        build(self)

    monkeypatch.setattr(LexicalIndex, "_build", counted_build)
    [headers] = await people_with_tokens(org, "asker", 1)
    counting = CountingEmbedder(embedder)
    app = create_app(settings=org.settings, embedder=counting)
    async with AsyncTestClient(app=app) as client:
        # Started: one short text encoded and the lexical index built, before any request.
        assert counting.calls == 1 and len(builds) == 1 and builds[0] > 0
        work = []
        for title in (
            "Who knows the privacy rules for customer data?",
            "Wie weet iets van staalbouw?",
        ):
            encodes, built = counting.calls, len(builds)
            response = await client.post(
                "/api/calls", json={"kind": "question", "title": title}, headers=headers
            )
            assert response.status_code == 201, response.text
            assert response.json()["matches"], "routed to nobody"
            work.append((counting.calls - encodes, len(builds) - built))
    first, second = work
    assert first == second and first[1] == 0, work
