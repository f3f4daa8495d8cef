"""The web app's small parts: markdown safety, the sign-in limiter, passwords, languages and
translations, expertise corrections, and migration 0003 both ways."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import askhub.web
from askhub.app import create_app
from askhub.auth.service import client_address
from askhub.calls import control
from askhub.calls.actions import DONE, TITLES, USED
from askhub.calls.service import (
    ALREADY_VOLUNTEERED,
    CALL_FULL,
    NOT_A_VOLUNTEER,
    NOT_IN_AUDIENCE,
    TAKES_NO_REPLIES,
)
from askhub.calls.similar import NOT_ANSWERED
from askhub.people.service import EMAIL_IS_IDENTITY, EMAIL_TAKEN
from askhub.settings import Settings, parse_networks
from askhub.tools.i18n import load
from askhub.validation import InputError
from askhub.web.accounts import LoginLimiter, check_password, hash_password
from askhub.web.core import _ERROR_KEYS, TEMPLATES, local_path
from askhub.web.expertise import (
    hidden_topics,
    skills_adding,
    skills_hiding,
    skills_showing,
    visible_skills,
)
from askhub.web.i18n import from_accept_language, language_for, translator
from askhub.web.markdown import render_markdown, safe_link
from models import Person
from models.db import MIGRATIONS, create_engine, upgrade

WEB = Path(TEMPLATES).parent


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x](java%0Ascript:alert(1))",
        "[x](java&#x09;script:alert(1))",
        "[x]( javascript:alert(1))",
        "<javascript:alert(1)>",
        "![x](javascript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "[x](file:///etc/passwd)",
        "[x]: javascript:alert(1)\n\n[x]",
    ],
)
def test_unsafe_links_are_not_links(source: str) -> None:
    html = str(render_markdown(source))
    assert "<a " not in html and "<img" not in html and 'src="' not in html


def test_raw_html_is_text_and_safe_links_stay() -> None:
    html = str(render_markdown('<script>alert(1)</script>\n\n<b onclick="x()">b</b>'))
    assert "<script" not in html and "<b " not in html and "&lt;script&gt;" in html
    for url in (
        "https://example.com/a?b=c",
        "http://x.nl",
        "mailto:a@example.com",
        "/calls/3",
        "#top",
    ):
        assert safe_link(url), url
    link = str(render_markdown("[ok](https://example.com)"))
    assert (
        link == '<p><a href="https://example.com" rel="nofollow noopener noreferrer">ok</a></p>\n'
    )
    assert str(render_markdown(None)) == ""


def test_login_limiter_counts_failures_in_a_sliding_window() -> None:
    now = [1000.0]
    limiter = LoginLimiter(max_failures=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("a|1") is None
        limiter.failed("a|1")
    assert limiter.retry_after("a|1") == 60
    assert limiter.retry_after("b|1") is None  # other keys are not affected
    now[0] += 30
    assert limiter.retry_after("a|1") == 30
    now[0] += 31
    assert limiter.retry_after("a|1") is None
    limiter.failed("a|1")
    limiter.succeeded("a|1")
    assert limiter.retry_after("a|1") is None


def test_login_limiter_takes_places_before_the_check_and_all_or_none() -> None:
    now = [1000.0]
    limiter = LoginLimiter(max_failures=2, window=60, clock=lambda: now[0])
    first = limiter.begin({"handle:a": 2, "address:x": 3})
    second = limiter.begin({"handle:a": 2, "address:x": 3})
    assert not isinstance(first, int) and not isinstance(second, int)
    # Both places of handle:a are taken while their checks run: a third waits, and takes no
    # place of address:x either.
    assert limiter.begin({"handle:a": 2, "address:x": 3}) == 60
    assert limiter.begin({"handle:b": 2, "address:x": 3}) is not None
    assert isinstance(limiter.begin({"handle:c": 2, "address:x": 3}), int)  # x: 3 taken
    limiter.release(first, forget=("handle:a",))
    assert limiter.retry_after("handle:a", 2) is None
    assert limiter.retry_after("address:x", 3) is None  # first's place given back


def test_client_address_believes_forwarded_for_only_from_trusted_proxies() -> None:
    proxies = parse_networks("10.0.0.0/8, ::1")
    assert client_address("192.0.2.7", ["198.51.100.1"], ()) == "192.0.2.7"
    assert client_address("192.0.2.7", ["198.51.100.1"], proxies) == "192.0.2.7"
    assert client_address("10.0.0.2", ["198.51.100.1"], proxies) == "198.51.100.1"
    # Hops added by trusted proxies are skipped; what the client wrote left of them is not read.
    assert client_address("::1", ["6.6.6.6, 198.51.100.1, 10.1.1.1"], proxies) == "198.51.100.1"
    assert client_address("10.0.0.2", ["junk, 10.0.0.3"], proxies) == "10.0.0.3"
    assert client_address("10.0.0.2", [], proxies) == "10.0.0.2"
    assert client_address(None, ["1.2.3.4"], proxies) == "?"
    with pytest.raises(ValueError, match="'nonsense'"):
        parse_networks("10.0.0.1, nonsense")


def test_passwords_are_argon2id_and_checked_for_length() -> None:
    stored = hash_password("long enough")
    assert stored.startswith("$argon2id$") and "long enough" not in stored
    assert hash_password("long enough") != stored  # salted
    with pytest.raises(InputError) as short:
        check_password("short")
    assert short.value.field == "password"
    with pytest.raises(InputError):
        check_password("x" * 2000)


def test_language_from_profile_then_browser_then_english() -> None:
    assert from_accept_language("nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7") == "nl"
    assert from_accept_language("de-DE,de;q=0.9,en;q=0.5,nl;q=0.6") == "nl"
    assert from_accept_language("en;q=0, nl;q=0") is None
    assert from_accept_language("fr") is None and from_accept_language(None) is None
    dutch, english, other = (
        Person(handle="a", name="A", languages=["nl", "en"]),
        Person(handle="b", name="B", languages=["en"]),
        Person(handle="c", name="C", languages=["fr"]),
    )
    assert language_for(dutch, "en") == "nl"
    assert language_for(english, "nl") == "en"
    assert language_for(other, "nl;q=0.8") == "nl"
    assert language_for(other, None) == "en" and language_for(None, "xx") == "en"
    assert translator("nl")("Hello, {name}", name="Sanne") == "Hallo, Sanne"
    assert translator("en")("status:filled") == "filled"


def _messages_in_python(source: str) -> set[str]:
    """Messages the handlers show: t("…"), flash notes, error pages and field errors."""
    found: set[str] = set()

    def strings(node: ast.AST | None) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.Dict):
            return [s for v in node.values for s in strings(v)]
        if isinstance(node, ast.IfExp):
            return strings(node.body) + strings(node.orelse)
        return []

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in ("t", "_saved", "_render_error"):
                found.update(s for arg in node.args for s in strings(arg))
            for keyword in node.keywords:
                if keyword.arg in ("error", "errors"):
                    found.update(strings(keyword.value))
        elif isinstance(node, ast.Assign):
            targets = [ast.unparse(t) for t in node.targets]
            if any("error" in t.lower() for t in targets):
                found.update(strings(node.value))
    return {m for m in found if m[:1].isupper() and (" " in m or m.endswith("."))}


def test_every_text_in_the_pages_has_a_dutch_translation() -> None:
    # t("…") and t('…') calls with a literal message (not t("status:" ~ status)).
    literal = re.compile(r"""\bt\(\s*(?:"([^"]+)"|'([^']+)')(?=\s*[,)])""")
    # Labels in the templates' choice lists: ("question", "A question", "Someone who knows").
    choices = re.compile(r"""\(\s*"[a-z_]+",\s*"([A-Z][^"]+)"(?:,\s*"([A-Z][^"]+)")?\)""")
    wanted: set[str] = set()
    pages = [*WEB.glob("templates/**/*.html"), *(WEB.parent / "calls").glob("templates/*.j2")]
    for path in pages:
        source = path.read_text()
        wanted |= {a or b for a, b in literal.findall(source)}
        wanted |= {m for pair in choices.findall(source) for m in pair if m}
    in_python: set[str] = set()
    for path in WEB.glob("*.py"):
        in_python |= _messages_in_python(path.read_text())
    assert "Wrong handle or password." in in_python and "Saved." in in_python
    assert "Say how many volunteers you need." in in_python
    assert set(_ERROR_KEYS.values()) <= in_python
    wanted |= in_python
    # The one-click link pages, and what the services tell people on the pages.
    wanted |= {*TITLES.values(), *DONE.values(), *USED.values()}
    wanted |= {CALL_FULL, ALREADY_VOLUNTEERED, NOT_A_VOLUNTEER, EMAIL_TAKEN, EMAIL_IS_IDENTITY}
    wanted |= {NOT_IN_AUDIENCE, TAKES_NO_REPLIES, NOT_ANSWERED}
    # Every refusal of the asker's controls (calls.control) is shown on the call page.
    wanted |= {
        v for k, v in vars(control).items() if k.isupper() and isinstance(v, str) and v[-1] == "."
    }
    english = {entry.id for entry in load("en") if entry.id}
    dutch = {entry.id for entry in load("nl") if entry.id and entry.string}
    for kind in ("status", "kind", "state", "reply", "post"):
        wanted |= {k for k in english if isinstance(k, str) and k.startswith(kind + ":")}
    # The language switch names each language in itself, whatever the page's language.
    wanted -= {"Nederlands", "English"}
    missing = sorted(m for m in wanted if m not in dutch)
    assert not missing, f"no Dutch for: {missing}"
    assert len(wanted) > 190


def test_hidden_topics_live_in_the_skill_list() -> None:
    person = Person(handle="m", name="M", skills=["Steel", "masts"])
    person.skills = skills_hiding(person, "steel")
    assert person.skills == ["masts", "-steel"]
    assert hidden_topics(person) == ["steel"] and visible_skills(person) == ["masts"]
    person.skills = skills_adding(person, "  Steel  ")
    assert person.skills == ["masts", "Steel"]
    person.skills = skills_hiding(person, "masts")
    assert skills_showing(person, "masts") == ["Steel"]


def test_only_local_paths_after_sign_in() -> None:
    assert local_path("/calls/3?x=1") == "/calls/3?x=1"
    for bad in ("https://evil.example", "//evil.example", "/\\evil.example", "", None, "calls"):
        assert local_path(bad) == "/"


def test_every_page_handler_is_mounted(tmp_path: Path) -> None:
    """Each page handler a web module defines answers in the app at each of its paths and methods (a handler
    written but left out of the list, or shadowed by another, would not)."""
    app = create_app(
        settings=Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}",
            data_dir=tmp_path,
            scheduler=False,
        )
    )
    mounted = {
        (route.path, method): handler.handler_name
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in handler.http_methods
    }
    # Every page handler any askhub.web module defines, whether or not PAGES lists it.
    defined = [
        obj
        for info in pkgutil.iter_modules(askhub.web.__path__, "askhub.web.")
        for obj in vars(importlib.import_module(info.name)).values()
        if isinstance(obj, HTTPRouteHandler)
    ]
    assert len(defined) >= 28
    for handler in defined:
        assert isinstance(handler, HTTPRouteHandler)
        for path in handler.paths:
            for method in handler.http_methods:
                assert mounted.get((path, method)) == handler.handler_name, (path, method)


def _downgrade(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _person_columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("person")}


async def test_migration_0003_adds_and_removes_the_password_column(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            assert "password_hash" in await connection.run_sync(_person_columns)
            await connection.run_sync(_downgrade, "0002")
            assert "password_hash" not in await connection.run_sync(_person_columns)
        await upgrade(engine)
        async with engine.begin() as connection:
            assert "password_hash" in await connection.run_sync(_person_columns)
    finally:
        await engine.dispose()
