"""The demo organisation behind ``askhub demo load``: what a user of the demo relies on."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from typing import Any

from askhub.demo.organisation import DEMO_SEED, build_demo_people, demo_people_jsonl

PERSON_KEYS = {
    "handle",
    "name",
    "email",
    "department",
    "location",
    "languages",
    "bio",
    "skills",
    "posts",
}
POST_KEYS = {"title", "body", "tags", "created_at"}

# Function words that tell a Dutch post from an English one without a language model.
DUTCH_WORDS = frozenset(
    "de het een en van voor met niet op ook naar bij zijn wie dat die er je jullie ons onze "
    "wordt heeft nog maar om aan uit ik".split()
)
ENGLISH_WORDS = frozenset(
    "the and of for with not on also to at are who that this you our is has have it from will "
    "be i".split()
)
SENTENCE_END = re.compile(r"[.!?](?=\s|$)")

PEOPLE: list[dict[str, Any]] = build_demo_people()


def _text(post: dict[str, Any]) -> str:
    return f"{post['title']} {post['body']}".lower()


def _language(post: dict[str, Any]) -> str:
    words = re.findall(r"[a-zà-ÿ']+", _text(post))
    dutch = sum(word in DUTCH_WORDS for word in words)
    english = sum(word in ENGLISH_WORDS for word in words)
    return "nl" if dutch > english else "en"


def _posts(person: dict[str, Any]) -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = person["posts"]
    return posts


def _writers_about(*phrases: str) -> list[dict[str, Any]]:
    return [
        person
        for person in PEOPLE
        if any(phrase in _text(post) for post in _posts(person) for phrase in phrases)
    ]


def test_a_company_of_at_least_160_people_with_unique_handles() -> None:
    assert len(PEOPLE) >= 160
    handles = [person["handle"] for person in PEOPLE]
    assert len(set(handles)) == len(handles)
    for person in PEOPLE:
        assert re.fullmatch(r"[a-z0-9._-]+", str(person["handle"]))
        assert person["email"] == f"{person['handle']}@telenova.example"


def test_every_person_follows_the_import_schema() -> None:
    for person in PEOPLE:
        assert set(person) == PERSON_KEYS
        assert person["name"] and person["bio"]
        assert 1 <= len(SENTENCE_END.findall(str(person["bio"]))) <= 3
        assert 2 <= len(person["skills"]) <= 6
        languages = person["languages"]
        assert len(set(languages)) == len(languages)
        assert all(re.fullmatch(r"[a-z]{2}", code) for code in languages)
        assert {"nl", "en"} & set(languages)
        for post in _posts(person):
            assert set(post) == POST_KEYS
            assert post["tags"] and all(tag == tag.lower() for tag in post["tags"])


def test_the_same_seed_gives_the_same_company_and_another_seed_a_different_one() -> None:
    assert build_demo_people(DEMO_SEED) == PEOPLE
    assert build_demo_people() == build_demo_people(7)
    other = build_demo_people(DEMO_SEED + 1)
    assert other != PEOPLE
    assert {p["handle"] for p in other} != {p["handle"] for p in PEOPLE}


def test_everyone_has_a_department_a_location_and_two_to_five_posts() -> None:
    for person in PEOPLE:
        assert person["department"] and person["location"]
        assert 2 <= len(_posts(person)) <= 5
    assert len({p["department"] for p in PEOPLE}) >= 10
    assert len({p["location"] for p in PEOPLE}) >= 8


def test_posts_are_short_distinct_and_dated_with_a_timezone() -> None:
    titles: Counter[str] = Counter()
    for person in PEOPLE:
        posts = _posts(person)
        assert len({(p["title"], p["body"]) for p in posts}) == len(posts)
        for post in posts:
            titles[post["title"]] += 1
            assert 0 < len(post["title"]) <= 120
            assert 1 <= len(SENTENCE_END.findall(post["body"])) <= 5
            created = datetime.fromisoformat(post["created_at"])
            assert created.tzinfo is not None
            assert 2024 <= created.year <= 2026
    assert titles.most_common(1)[0][1] == 1, "no two posts in the demo share a title"


def test_both_dutch_and_english_are_written_roughly_sixty_forty() -> None:
    languages = Counter(_language(post) for person in PEOPLE for post in _posts(person))
    assert languages["nl"] > 0 and languages["en"] > 0
    mainly_dutch = sum(
        Counter(_language(post) for post in _posts(person)).most_common(1)[0][0] == "nl"
        for person in PEOPLE
    )
    assert 0.5 <= mainly_dutch / len(PEOPLE) <= 0.7
    bilingual = [p for p in PEOPLE if len({_language(post) for post in _posts(p)}) == 2]
    assert bilingual, "some people write in both languages"


def test_steel_construction_experts_exist_in_dutch_and_in_english_only() -> None:
    dutch_writers = _writers_about("staalbouw")
    assert len(dutch_writers) >= 3
    english_only = [
        person
        for person in _writers_about("steel construction", "steel frames")
        if all(_language(post) == "en" for post in _posts(person)) and person not in dutch_writers
    ]
    assert english_only, "cross-lingual routing needs an English-only steel expert"
    assert len(dutch_writers) + len(english_only) <= 8, "an expertise is held by a few people"


def test_modem_testers_write_in_both_languages() -> None:
    testers = _writers_about("modem")
    assert 3 <= len(testers) <= 8
    assert any(all(_language(p) == "nl" for p in _posts(person)) for person in testers)
    assert any(all(_language(p) == "en" for p in _posts(person)) for person in testers)


def test_expertise_topics_each_have_a_few_on_topic_people() -> None:
    for phrases in (
        ("nova1 connect",),
        ("kubernetes",),
        ("power bi",),
        ("python",),
        ("avg", "gdpr"),
        ("5g",),
    ):
        assert len(_writers_about(*phrases)) >= 3, phrases


def test_jsonl_has_one_parseable_person_per_line() -> None:
    lines = demo_people_jsonl().splitlines()
    assert len(lines) == len(PEOPLE)
    assert [json.loads(line) for line in lines] == PEOPLE
    assert "Financiën" in demo_people_jsonl(), "non-ASCII text is kept readable"
