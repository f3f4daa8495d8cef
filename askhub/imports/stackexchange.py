"""Read a Stack Exchange data dump and turn it into an evaluation split and AskHub people.

Only the fields a routing system could have known when a question was asked are read:
ids, names, profiles, dates, titles, bodies and tags. Reputation, scores, votes, views,
counts and AcceptedAnswerId are never touched because they summarise the future and would
leak the answer into any evaluation built on this data.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from xml.parsers import expat

QUESTION = 1
ANSWER = 2
BIO_MAX_CHARS = 2000
_READ_CHUNK = 1 << 16
_ANGLE_TAG = re.compile(r"<([^<>]+)>")
# Tags whose boundaries separate words; inline tags (code, a, em, ...) must not split a word.
_BLOCK_TAGS = frozenset(
    "p div br hr li ul ol dl dt dd pre blockquote table tr td th h1 h2 h3 h4 h5 h6".split()
)


class DumpError(ValueError):
    """A dump file is missing or unreadable; ``str()`` is one line naming file, line, problem."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        self.file = file
        self.line = line
        self.problem = problem
        where = file if line is None else f"{file} line {line}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class SEUser:
    id: str
    display_name: str
    about: str
    location: str


@dataclass(frozen=True)
class SEPost:
    id: str
    post_type: int
    owner_id: str | None
    parent_id: str | None
    created_at: datetime
    title: str
    body: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class SEDump:
    users: dict[str, SEUser]
    posts: list[SEPost]


@dataclass(frozen=True)
class EvalQuestion:
    post: SEPost
    asker_id: str
    relevant: frozenset[str]


@dataclass(frozen=True)
class EvalSplit:
    cutoff: datetime
    history: list[SEPost]
    candidates: frozenset[str]
    test_questions: list[EvalQuestion]


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags dropped (their text kept), entities decoded,
    whitespace collapsed to single spaces."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return " ".join("".join(extractor.parts).split())


def parse_tags(value: str) -> tuple[str, ...]:
    """Tags from either dump format: ``<a><b>`` (older dumps) or ``|a|b|`` (newer ones)."""
    if value.startswith("<"):
        return tuple(_ANGLE_TAG.findall(value))
    return tuple(tag for tag in value.split("|") if tag)


def _iter_rows(path: Path, root_tag: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, attributes) for each ``<row>`` under the root, streaming the file.

    pyexpat is driven directly (it is the parser under ElementTree.iterparse) because it
    reports the line of every row, so validation errors can point into the file.
    """
    name = path.name
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DumpError(name, None, f"missing file (looked in {path.parent})") from None
    except OSError as exc:
        raise DumpError(name, None, f"cannot open: {exc.strerror}") from None

    parser = expat.ParserCreate()
    pending: list[tuple[int, dict[str, str]]] = []
    depth = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        line = parser.CurrentLineNumber
        if depth == 1 and tag != root_tag:
            raise DumpError(name, line, f"expected root element <{root_tag}>, found <{tag}>")
        if depth == 2 and tag == "row":
            pending.append((line, attrs))

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    with handle:
        try:
            while chunk := handle.read(_READ_CHUNK):
                parser.Parse(chunk, False)
                yield from pending
                pending.clear()
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            problem = f"malformed XML: {expat.ErrorString(exc.code)}"
            raise DumpError(name, exc.lineno, problem) from None
    yield from pending


def _required(attrs: dict[str, str], key: str, file: str, line: int) -> str:
    value = attrs.get(key, "")
    if not value:
        raise DumpError(file, line, f"row has no {key} attribute")
    return value


def _integer(value: str, key: str, file: str, line: int) -> str:
    """Check an id-like attribute is an integer (ids are sorted numerically later)."""
    try:
        int(value)
    except ValueError:
        raise DumpError(file, line, f"{key} {value!r} is not an integer") from None
    return value


def _optional_id(attrs: dict[str, str], key: str, file: str, line: int) -> str | None:
    value = attrs.get(key, "")
    return _integer(value, key, file, line) if value else None


def _parse_date(value: str, file: str, line: int) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DumpError(file, line, f"unparsable CreationDate {value!r}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _read_users(path: Path) -> dict[str, SEUser]:
    users: dict[str, SEUser] = {}
    for line, attrs in _iter_rows(path, "users"):
        user_id = _integer(_required(attrs, "Id", path.name, line), "Id", path.name, line)
        if user_id in users:
            raise DumpError(path.name, line, f"duplicate user Id {user_id!r}")
        users[user_id] = SEUser(
            id=user_id,
            display_name=attrs.get("DisplayName", "").strip(),
            about=html_to_text(attrs.get("AboutMe", "")),
            location=attrs.get("Location", "").strip(),
        )
    return users


def _read_posts(path: Path) -> list[SEPost]:
    name = path.name
    posts: list[SEPost] = []
    seen: set[str] = set()
    for line, attrs in _iter_rows(path, "posts"):
        post_id = _integer(_required(attrs, "Id", name, line), "Id", name, line)
        if post_id in seen:
            raise DumpError(name, line, f"duplicate post Id {post_id!r}")
        seen.add(post_id)
        post_type = _integer(_required(attrs, "PostTypeId", name, line), "PostTypeId", name, line)
        posts.append(
            SEPost(
                id=post_id,
                post_type=int(post_type),
                owner_id=_optional_id(attrs, "OwnerUserId", name, line),
                parent_id=_optional_id(attrs, "ParentId", name, line),
                created_at=_parse_date(_required(attrs, "CreationDate", name, line), name, line),
                title=attrs.get("Title", "").strip(),
                body=html_to_text(attrs.get("Body", "")),
                tags=parse_tags(attrs.get("Tags", "")),
            )
        )
    return posts


def read_dump(folder: Path) -> SEDump:
    """Stream ``Users.xml`` and ``Posts.xml`` from an unpacked dump folder.

    Raises DumpError for a missing file, malformed XML, a row without Id/PostTypeId/
    CreationDate, a non-integer id or an unparsable date.
    """
    return SEDump(users=_read_users(folder / "Users.xml"), posts=_read_posts(folder / "Posts.xml"))


def _chronological(post: SEPost) -> tuple[datetime, int]:
    return (post.created_at, int(post.id))


def split_for_evaluation(dump: SEDump) -> EvalSplit:
    """Temporal split: learn from the first 80% of questions, route the rest.

    Ownerless posts (deleted users) are ignored. The cutoff is the creation time of question
    number floor(0.8 n) in (created_at, id) order; history is every question and answer
    created strictly before it (sorted chronologically); candidates own at least one history
    post. A test question is one created at or after the cutoff that some candidate other than
    the asker answered (at any time); those answerers are its relevant set.
    """
    owned = [p for p in dump.posts if p.owner_id is not None and p.post_type in (QUESTION, ANSWER)]
    questions = sorted((p for p in owned if p.post_type == QUESTION), key=_chronological)
    if not questions:
        raise ValueError("the dump has no questions with an owner, so there is nothing to split")
    # Integer arithmetic so floor(0.8 n) is exact for every n.
    cutoff = questions[len(questions) * 4 // 5].created_at
    history = sorted((p for p in owned if p.created_at < cutoff), key=_chronological)
    candidates = frozenset(p.owner_id for p in history if p.owner_id is not None)

    answerers: defaultdict[str, set[str]] = defaultdict(set)
    for post in owned:
        if post.post_type == ANSWER and post.parent_id is not None and post.owner_id is not None:
            answerers[post.parent_id].add(post.owner_id)

    test_questions: list[EvalQuestion] = []
    for question in questions:
        if question.created_at < cutoff or question.owner_id is None:
            continue
        relevant = frozenset((answerers[question.id] & candidates) - {question.owner_id})
        if relevant:
            test_questions.append(EvalQuestion(question, question.owner_id, relevant))
    return EvalSplit(cutoff, history, candidates, test_questions)


def history_people(dump: SEDump, history: Sequence[SEPost]) -> list[dict[str, object]]:
    """AskHub import records for everyone owning a history question or answer.

    People come in order of their first history post. Answers carry their question's title
    and tags (empty when the question is not in the dump) so they are findable by topic.
    Other post types (tag wikis, nominations) are not expertise and are skipped.
    """
    questions = {p.id: p for p in dump.posts if p.post_type == QUESTION}
    posts_by_owner: dict[str, list[dict[str, object]]] = {}
    for post in history:
        if post.owner_id is None or post.post_type not in (QUESTION, ANSWER):
            continue
        if post.post_type == QUESTION:
            title, tags, kind = post.title, post.tags, "question"
        else:
            parent = questions.get(post.parent_id or "")
            title, tags = (parent.title, parent.tags) if parent is not None else ("", ())
            kind = "answer"
        posts_by_owner.setdefault(post.owner_id, []).append(
            {
                "title": title,
                "body": post.body,
                "tags": list(tags),
                "created_at": post.created_at.replace(tzinfo=UTC).isoformat(),
                "external_id": post.id,
                "kind": kind,
                "in_reply_to": post.parent_id if kind == "answer" else None,
            }
        )

    people: list[dict[str, object]] = []
    for owner_id, posts in posts_by_owner.items():
        user = dump.users.get(owner_id)
        people.append(
            {
                "handle": f"se-{owner_id}",
                "name": (user.display_name if user else "") or f"user {owner_id}",
                "location": (user.location if user else "") or None,
                "bio": user.about[:BIO_MAX_CHARS] if user else "",
                "posts": posts,
            }
        )
    return people
