"""Stack Exchange dump reader, evaluation split and import records."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from askhub.imports.stackexchange import (
    DumpError,
    SEDump,
    SEPost,
    SEUser,
    history_people,
    html_to_text,
    parse_tags,
    read_dump,
    split_for_evaluation,
)

CARDANO = Path(__file__).resolve().parents[2] / "shared/data/cardano.stackexchange.com"


@pytest.fixture(scope="module")
def cardano() -> SEDump:
    if not CARDANO.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"development dump missing in CI: {CARDANO}")
        pytest.skip(f"development dump not present at {CARDANO}")
    return read_dump(CARDANO)


def _write_dump(folder: Path, posts: str, users: str = "<users />") -> Path:
    (folder / "Users.xml").write_text(users, encoding="utf-8")
    (folder / "Posts.xml").write_text(posts, encoding="utf-8")
    return folder


def _post(
    id: str,
    post_type: int,
    owner: str | None,
    when: str,
    parent: str | None = None,
    title: str = "",
    tags: tuple[str, ...] = (),
) -> SEPost:
    return SEPost(
        id=id,
        post_type=post_type,
        owner_id=owner,
        parent_id=parent,
        created_at=datetime.fromisoformat(when),
        title=title,
        body=f"body {id}",
        tags=tags,
    )


# --- the cardano development dump ---------------------------------------------------------


def test_counts_match_the_readme(cardano: SEDump) -> None:
    assert len(cardano.users) == 3988
    assert len(cardano.posts) == 2630
    questions = [p for p in cardano.posts if p.post_type == 1]
    answers = [p for p in cardano.posts if p.post_type == 2]
    assert len(questions) == 1042
    assert len(answers) == 1496
    # README: every answer has an owner; two questions belong to deleted users.
    assert all(a.owner_id is not None for a in answers)
    assert sum(q.owner_id is not None for q in questions) == 1040
    assert len({a.owner_id for a in answers}) == 331
    assert len({q.owner_id for q in questions if q.owner_id}) == 533
    assert len({a.parent_id for a in answers}) == 942
    assert len({t for q in questions for t in q.tags}) == 224
    assert all(q.tags for q in questions)


def test_html_is_plain_text_on_the_dump(cardano: SEDump) -> None:
    first = next(p for p in cardano.posts if p.id == "1")
    assert first.title == "How Cardano is different from Ethereum (2.0)?"
    assert first.tags == ("proof-of-work", "governance", "ethereum")
    assert first.body.startswith("As far as I know, the Cardano project")
    assert first.created_at == datetime(2021, 4, 27, 15, 6, 44, 553000)
    for post in cardano.posts:
        assert "<p>" not in post.body and "&amp;" not in post.body and "\n" not in post.body
    assert "Q&A" in cardano.users["1"].about


def test_split_follows_the_protocol(cardano: SEDump) -> None:
    split = split_for_evaluation(cardano)

    # The protocol, recomputed the plain way.
    owned = [p for p in cardano.posts if p.owner_id is not None and p.post_type in (1, 2)]
    questions = sorted(
        (p for p in owned if p.post_type == 1), key=lambda p: (p.created_at, int(p.id))
    )
    cutoff = questions[int(0.8 * len(questions))].created_at
    history_ids = {p.id for p in owned if p.created_at < cutoff}
    candidates = {p.owner_id for p in owned if p.id in history_ids}
    expected: dict[str, set[str]] = {}
    for q in questions:
        if q.created_at >= cutoff:
            answerers = {
                a.owner_id
                for a in owned
                if a.post_type == 2 and a.parent_id == q.id and a.owner_id in candidates
            }
            answerers.discard(q.owner_id)
            if answerers:
                expected[q.id] = {str(a) for a in answerers}

    assert split.cutoff == cutoff
    assert {p.id for p in split.history} == history_ids
    assert split.candidates == candidates
    assert {q.post.id: set(q.relevant) for q in split.test_questions} == expected
    # Figures reported to the team as the evaluation set.
    assert (len(split.history), len(split.candidates), len(split.test_questions)) == (
        2012,
        601,
        155,
    )


def test_split_never_leaks_the_future_or_the_asker(cardano: SEDump) -> None:
    split = split_for_evaluation(cardano)
    assert all(p.created_at < split.cutoff for p in split.history)
    assert all(p.owner_id is not None and p.post_type in (1, 2) for p in split.history)
    for question in split.test_questions:
        assert question.asker_id == question.post.owner_id
        assert question.asker_id not in question.relevant
        assert question.relevant <= split.candidates
        assert question.post.created_at >= split.cutoff


def test_history_people_on_the_dump(cardano: SEDump) -> None:
    split = split_for_evaluation(cardano)
    people = history_people(cardano, split.history)
    assert {p["handle"] for p in people} == {f"se-{c}" for c in split.candidates}
    posts = [post for person in people for post in _posts(person)]
    assert sorted(int(str(p["external_id"])) for p in posts) == sorted(
        int(p.id) for p in split.history
    )
    first = people[0]
    assert (first["handle"], first["name"], first["location"]) == ("se-17", "FelikZ", "Netherlands")
    answer = next(p for p in _posts(first) if p["kind"] == "answer")
    assert answer["title"] == "How to restore a wallet with 24 words and passphrase?"
    assert answer["tags"] == ["wallet", "bip39", "ledger"]
    assert answer["created_at"] == "2021-04-27T15:48:50.887000+00:00"
    assert answer["external_id"] == "16"
    assert str(answer["body"]).startswith("By April 2021, there is no software solution")
    assert all(len(str(p["bio"])) <= 2000 for p in people)


# --- parsing details ----------------------------------------------------------------------


def test_both_tag_formats() -> None:
    assert parse_tags("<plutus><smart-contracts>") == ("plutus", "smart-contracts")
    assert parse_tags("|plutus|smart-contracts|") == ("plutus", "smart-contracts")
    assert parse_tags("") == ()


def test_html_stripped_entities_decoded_code_kept() -> None:
    html = "<p>Use <code>cardano-cli&nbsp;query</code> &amp; retry</p><ul><li>one</li><li>two</li></ul>"
    # &nbsp; is whitespace too, so it collapses to a plain space.
    assert html_to_text(html) == "Use cardano-cli query & retry one two"
    assert html_to_text("<pre><code>x &lt; 3\n  y</code></pre>") == "x < 3 y"


def test_reads_rows_and_ignores_future_fields(tmp_path: Path) -> None:
    posts = """\ufeff<?xml version="1.0" encoding="utf-8"?>
<posts>
  <row Id="7" PostTypeId="1" CreationDate="2021-05-01T10:00:00.123" OwnerUserId="3"
       Score="99" AcceptedAnswerId="8" Title="T" Body="&lt;p&gt;Hi&lt;/p&gt;" Tags="|a|b|" />
  <row Id="8" PostTypeId="2" ParentId="7" CreationDate="2021-05-02T10:00:00" Body="x" />
</posts>"""
    users = '<users><row Id="3" DisplayName=" Ann " AboutMe="&lt;b&gt;me&lt;/b&gt;" /></users>'
    dump = read_dump(_write_dump(tmp_path, posts, users))
    assert dump.users == {"3": SEUser(id="3", display_name="Ann", about="me", location="")}
    question, answer = dump.posts
    assert question == SEPost(
        id="7",
        post_type=1,
        owner_id="3",
        parent_id=None,
        created_at=datetime(2021, 5, 1, 10, 0, 0, 123000),
        title="T",
        body="Hi",
        tags=("a", "b"),
    )
    assert answer.owner_id is None and answer.parent_id == "7"


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    posts = '<posts>\n  <row Id="1" PostTypeId="1" CreationDate="2021-05-01T10:00:00" />\n</post>\n'
    with pytest.raises(DumpError) as caught:
        read_dump(_write_dump(tmp_path, posts))
    assert str(caught.value) == "Posts.xml line 3: malformed XML: mismatched tag"
    assert (caught.value.file, caught.value.line) == ("Posts.xml", 3)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ('<row PostTypeId="1" CreationDate="2021-05-01T10:00:00" />', "row has no Id attribute"),
        ('<row Id="1" CreationDate="2021-05-01T10:00:00" />', "row has no PostTypeId attribute"),
        ('<row Id="1" PostTypeId="1" />', "row has no CreationDate attribute"),
        (
            '<row Id="1" PostTypeId="1" CreationDate="yesterday" />',
            "unparsable CreationDate 'yesterday'",
        ),
    ],
)
def test_bad_rows_name_file_line_and_problem(tmp_path: Path, row: str, problem: str) -> None:
    posts = f'<posts>\n<row Id="9" PostTypeId="1" CreationDate="2021-05-01T10:00:00" />\n{row}\n</posts>'
    with pytest.raises(DumpError, match="^Posts.xml line 3: " + problem + "$"):
        read_dump(_write_dump(tmp_path, posts))


def test_missing_file_is_a_dump_error(tmp_path: Path) -> None:
    with pytest.raises(DumpError, match=r"^Users\.xml: missing file"):
        read_dump(tmp_path)


def test_empty_file_is_malformed(tmp_path: Path) -> None:
    with pytest.raises(DumpError, match=r"^Users\.xml line 1: malformed XML: no element found$"):
        read_dump(_write_dump(tmp_path, "<posts />", users=""))


# --- split and people on a hand-made dump -------------------------------------------------


def _posts(person: dict[str, object]) -> list[dict[str, object]]:
    posts = person["posts"]
    assert isinstance(posts, list)
    return posts


def _tiny_dump() -> SEDump:
    posts = [
        _post("1", 1, "a", "2021-01-01", title="Q1", tags=("t1",)),
        _post("2", 2, "b", "2021-01-02", parent="1"),
        _post("3", 1, None, "2021-01-03", title="orphan question"),
        _post("4", 2, "c", "2021-01-04", parent="3"),  # answers an ownerless question
        _post("5", 1, "b", "2021-01-05", title="Q5"),
        _post("6", 4, "d", "2021-01-06"),  # tag wiki: not a question or answer
        _post("7", 1, "a", "2021-01-07", title="Q7"),
        _post("8", 2, "c", "2021-01-08", parent="99"),  # its question is not in the dump
        _post("9", 1, "e", "2021-01-09", title="Q9"),  # same time as the cutoff question
        _post("10", 1, "a", "2021-01-09", title="Q10"),  # question floor(0.8 * 6) = 4
        _post("11", 2, "b", "2021-01-10", parent="10"),
        _post("12", 2, "a", "2021-01-10", parent="10"),  # the asker answering themself
        _post("13", 2, "z", "2021-01-10", parent="9"),  # answerer without history
        _post("14", 2, None, "2021-01-11", parent="9"),  # deleted user
        _post("15", 2, "c", "2021-01-12", parent="9"),
        _post("16", 1, "b", "2021-01-13", title="Q16"),
        _post("17", 2, "z", "2021-01-14", parent="16"),
    ]
    users = {"a": SEUser("a", "Ann", "<not html> " * 300, "Ghent"), "b": SEUser("b", "", "", "")}
    return SEDump(users=users, posts=posts)


def test_split_on_a_tiny_dump() -> None:
    split = split_for_evaluation(_tiny_dump())
    assert split.cutoff == datetime(2021, 1, 9)
    assert [p.id for p in split.history] == ["1", "2", "4", "5", "7", "8"]
    assert split.candidates == {"a", "b", "c"}
    assert [(q.post.id, q.asker_id, set(q.relevant)) for q in split.test_questions] == [
        ("9", "e", {"c"}),
        ("10", "a", {"b"}),
    ]


def test_split_needs_questions() -> None:
    with pytest.raises(ValueError, match="no questions"):
        split_for_evaluation(SEDump(users={}, posts=[_post("1", 1, None, "2021-01-01")]))


def test_history_people_shape() -> None:
    dump = _tiny_dump()
    people = history_people(dump, split_for_evaluation(dump).history)
    assert [p["handle"] for p in people] == ["se-a", "se-b", "se-c"]
    ann, bea, cid = people
    assert ann["name"] == "Ann" and ann["location"] == "Ghent"
    assert ann["bio"] == ("<not html> " * 300)[:2000]
    assert [p["external_id"] for p in _posts(ann)] == ["1", "7"]
    assert bea["name"] == "user b" and bea["location"] is None and bea["bio"] == ""
    assert _posts(bea) == [
        {
            "title": "Q1",
            "body": "body 2",
            "tags": ["t1"],
            "created_at": "2021-01-02T00:00:00+00:00",
            "external_id": "2",
            "kind": "answer",
            # the question it answers: what the fitted ranker learns from
            "in_reply_to": "1",
        },
        {
            "title": "Q5",
            "body": "body 5",
            "tags": [],
            "created_at": "2021-01-05T00:00:00+00:00",
            "external_id": "5",
            "kind": "question",
            "in_reply_to": None,
        },
    ]
    # c owns posts but is missing from Users.xml.
    assert (cid["name"], cid["location"], cid["bio"]) == ("user c", None, "")
    orphan, missing = _posts(cid)
    assert (orphan["title"], orphan["kind"]) == ("orphan question", "answer")
    assert (missing["title"], missing["tags"]) == ("", [])
