"""``askhub import stackexchange DIR``: the whole dump becomes people and posts, once."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import func, select

from askhub.context import AppContext
from askhub.imports.stackexchange import ANSWER, QUESTION, SEDump, read_dump
from askhub.imports.stackexchange_import import (
    BODY_MAX,
    NAME_MAX,
    SOURCE,
    TITLE_MAX,
    import_stackexchange,
    person_records,
)
from models import Embedding, Person, Post, PostKind

CARDANO = Path(__file__).resolve().parents[2] / "shared/data/cardano.stackexchange.com"


class HashEmbedder:
    """A stand-in for the model: these tests count rows, they do not rank anything, and the
    real model needs minutes for the 2,700 posts of the dump (tests/test_eval_routing.py
    imports and ranks with the real one)."""

    model_id = "test-hash"
    dim = 8

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        vectors = np.array(
            [np.frombuffer(hashlib.sha256(t.encode()).digest()[:8], dtype=np.uint8) for t in texts],
            dtype=np.float32,
        ).reshape(len(texts), self.dim)
        vectors += 1.0
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="module")
def cardano() -> SEDump:
    if not CARDANO.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"development dump missing in CI: {CARDANO}")
        pytest.skip(f"development dump not present at {CARDANO}")
    return read_dump(CARDANO)


async def _counts(context: AppContext) -> dict[str, int]:
    async with context.sessions() as session:
        people = await session.scalar(select(func.count()).select_from(Person))
        kinds = {
            str(kind): int(n)
            for kind, n in await session.execute(
                select(Post.kind, func.count()).group_by(Post.kind)
            )
        }
        vectors = await session.scalar(select(func.count()).select_from(Embedding))
        unembedded = await session.scalar(
            select(func.count()).select_from(Post).where(Post.id.not_in(select(Embedding.post_id)))
        )
    return {"people": int(people or 0), "vectors": int(vectors or 0), **kinds} | {
        "unembedded": int(unembedded or 0)
    }


async def test_import_matches_the_dump_and_a_second_run_adds_nothing(
    context: AppContext, cardano: SEDump
) -> None:
    owned = [p for p in cardano.posts if p.owner_id is not None and p.post_type in (1, 2)]
    owners = {p.owner_id for p in owned}
    with_bio = {o for o in owners if o in cardano.users and cardano.users[o].about.strip()}

    summary = await import_stackexchange(context, CARDANO)
    assert "\n" not in summary
    assert f"{len(owners)} people ({len(owners)} new" in summary
    first = await _counts(context)
    assert first["people"] == len(owners) == 699
    assert first[PostKind.QUESTION] == sum(p.post_type == QUESTION for p in owned) == 1040
    assert first[PostKind.ANSWER] == sum(p.post_type == ANSWER for p in owned) == 1496
    # A user's AboutMe becomes their profile, indexed like a post.
    assert first[PostKind.PROFILE] == len(with_bio)
    assert first["unembedded"] == 0

    async with context.sessions() as session:
        person = await session.scalar(select(Person).where(Person.handle == "se-17"))
        assert person is not None
        assert (person.name, person.location) == ("FelikZ", "Netherlands")
        answer = await session.scalar(
            select(Post).where(Post.source == SOURCE, Post.external_id == "16")
        )
        assert answer is not None and answer.author_id == person.id
        assert answer.kind == PostKind.ANSWER
        # An answer is indexed with its question's title and tags.
        assert answer.title == "How to restore a wallet with 24 words and passphrase?"
        assert answer.tags == ["wallet", "bip39", "ledger"]

    again = await import_stackexchange(context, CARDANO)
    assert "(0 new" in again and "(0 added, 0 removed), 0 embedded" in again
    assert await _counts(context) == first


def test_over_long_fields_are_cut_to_the_schema_not_refused() -> None:
    (record,) = person_records(
        [
            {
                "handle": "se-1",
                "name": "N" * 500,
                "location": "L" * 500,
                "bio": "b" * 20_000,
                "posts": [
                    {
                        "title": "T" * 400,
                        "body": "x" * (BODY_MAX + 10),
                        "tags": ["t" * 60, *[f"tag{i}" for i in range(30)]],
                        "created_at": "2021-05-01T10:00:00+00:00",
                        "external_id": "1",
                        "kind": "answer",
                    },
                    # A body whose HTML held no text stands for its title.
                    {"title": "Only a picture", "body": "", "external_id": "2", "kind": "question"},
                ],
            }
        ]
    )
    assert len(record.name) == NAME_MAX and record.location is not None
    assert len(record.bio) == 10_000
    long, empty = record.posts
    assert len(long.title) == TITLE_MAX and len(long.body) == BODY_MAX
    assert len(long.tags) == 20 and all(len(t) <= 50 for t in long.tags)
    assert empty.body == "Only a picture"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "askhub.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_malformed_dump_exits_2_naming_the_line_and_imports_nothing(
    tmp_path: Path, cli_env: dict[str, str], context: AppContext
) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "Users.xml").write_text('<users><row Id="1" DisplayName="Ann" /></users>')
    (dump / "Posts.xml").write_text(
        "<posts>\n"
        '  <row Id="1" PostTypeId="1" OwnerUserId="1" CreationDate="2021-05-01T10:00:00" '
        'Title="T" Body="b" />\n'
        '  <row Id="2" PostTypeId="2" ParentId="1" CreationDate="2021-05-02" Body="x">\n'
        "</posts>\n"
    )
    result = _cli(cli_env, "import", "stackexchange", str(dump))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "Posts.xml line 4: malformed XML" in lines[0]
    assert "nothing was imported" in lines[0]
    assert (await _counts(context))["people"] == 0


def test_missing_dump_folder_exits_2(tmp_path: Path, cli_env: dict[str, str]) -> None:
    result = _cli(cli_env, "import", "stackexchange", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"askhub: {tmp_path / 'nowhere'}: Users.xml: missing file (looked in "
        f"{tmp_path / 'nowhere'}); nothing was imported"
    ]
