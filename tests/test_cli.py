"""The ``askhub`` command as an admin uses it: import, route, tokens, and clear failures."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from askhub.auth.service import person_for_token
from askhub.context import AppContext
from models import ApiToken, Person
from tests.conftest import ORG


def askhub(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "askhub.cli", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def askhub_here(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The same command run inside this process, without a new interpreter's start-up (seconds
    under load): for checks of what it says, where a real process would add nothing."""
    from click.testing import CliRunner

    from askhub.cli import main

    result = CliRunner().invoke(main, list(args), input=stdin, env=env)
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def test_import_route_and_token(cli_env: dict[str, str], tmp_path: Path) -> None:
    first = askhub(cli_env, "import", "people", str(ORG))
    assert first.returncode == 0, first.stderr
    assert "12 people (12 new, 0 updated)" in first.stdout

    # A second import of the same file changes nothing and duplicates nothing.
    again = askhub(cli_env, "import", "people", str(ORG))
    assert again.returncode == 0, again.stderr
    assert "(0 new, 12 updated), 0 posts added, 0 removed, 0 embedded" in again.stdout

    routed = askhub(
        cli_env, "route", "Who knows the privacy rules for customer data?", "--json", "--k", "3"
    )
    assert routed.returncode == 0, routed.stderr
    matches = json.loads(routed.stdout)["matches"]
    assert matches[0]["handle"] == "fatima.elamrani" and matches[0]["name"] == "Fatima El Amrani"
    assert matches[0]["score"] > 0 and matches[0]["reasons"][0]["snippet"]
    assert len(matches) <= 3
    # No earlier questions with answers yet: the hand-set weights rank, and route says so.
    ranker = json.loads(routed.stdout)["ranker"]
    assert ranker["kind"] == "hand-set" and ranker["min_fit_questions"] == 50
    assert matches[0]["p_answer"] is None
    fit = askhub_here(cli_env, "routing", "fit")
    assert fit.returncode == 2 and "only 0 earlier questions have an answer" in fit.stderr
    assert len(fit.stderr.strip().splitlines()) == 1

    plain = askhub(cli_env, "route", "wie weet iets van staalbouw?")
    assert plain.returncode == 0 and "Sanne Visser" in plain.stdout and "why:" in plain.stdout

    token = askhub_here(cli_env, "token", "create", "amy.chen")
    assert token.returncode == 0, token.stderr
    last = token.stdout.strip().splitlines()[-1]
    assert last.startswith("ah_") and " " not in last and len(last) > 30


def test_a_changed_import_updates_posts_in_place(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert askhub(cli_env, "import", "people", str(ORG)).returncode == 0
    lines = ORG.read_text().splitlines()
    amy = json.loads(lines[2])
    amy["posts"] = [
        *amy["posts"][:1],
        {"title": "Mesh WiFi pilot", "body": "We piloted mesh WiFi in 30 homes."},
    ]
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps(amy) + "\n")
    result = askhub(cli_env, "import", "people", str(changed))
    assert result.returncode == 0, result.stderr
    assert "(0 new, 1 updated), 1 posts added, 1 removed" in result.stdout
    routed = askhub(cli_env, "route", "mesh wifi pilot", "--json", "--k", "1")
    assert json.loads(routed.stdout)["matches"][0]["handle"] == "amy.chen"


def test_a_bad_line_names_line_and_field_and_imports_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    lines = ORG.read_text().splitlines()
    broken = json.loads(lines[4])
    broken["posts"][1]["body"] = 12
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*lines[:4], json.dumps(broken), *lines[5:]]) + "\n")
    result = askhub(cli_env, "import", "people", str(bad))
    assert result.returncode == 2
    assert "line 5" in result.stderr and "posts[1].body" in result.stderr
    assert "Traceback" not in result.stderr
    assert "nothing was imported" in result.stderr
    # Nothing of the file arrived: routing has nobody to find.
    routed = askhub(cli_env, "route", "staalbouw", "--json")
    assert json.loads(routed.stdout)["matches"] == []


def test_cli_errors_are_one_line_and_exit_2(cli_env: dict[str, str], tmp_path: Path) -> None:
    cases = [
        ("import", "people", str(tmp_path / "missing.jsonl")),
        ("token", "create", "nobody"),
        ("route", "   "),
        ("route", "x", "--k", "0"),
    ]
    (tmp_path / "notjson.jsonl").write_text('{"handle": "a", "name": "A"}\n{oops\n')
    cases.append(("import", "people", str(tmp_path / "notjson.jsonl")))
    # What each says is checked in this process (an interpreter's start-up per case cost
    # seconds and showed nothing more); the last one runs as a real process.
    for args in cases:
        result = askhub_here(cli_env, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.strip(), args
    notjson = askhub_here(cli_env, "import", "people", str(tmp_path / "notjson.jsonl"))
    assert "line 2" in notjson.stderr
    # In the terminal's language: LANG=nl_NL.UTF-8 reads Dutch.
    terminal = {"ASKHUB_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "nl_NL.UTF-8"}
    dutch = askhub({**cli_env, **terminal}, "token", "create", "x")
    assert dutch.returncode == 2 and "niemand met gebruikersnaam 'x'" in dutch.stderr


def test_an_unmigrated_database_says_what_to_do(tmp_path: Path, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "ASKHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"}
    result = askhub(env, "route", "staalbouw")
    assert result.returncode == 2 and "askhub db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_set_a_web_password_from_stdin(cli_env: dict[str, str]) -> None:
    assert askhub(cli_env, "import", "people", str(ORG)).returncode == 0
    ok = askhub(cli_env, "user", "set-password", "amy.chen", stdin="correct horse battery\n")
    assert ok.returncode == 0 and "password set for @amy.chen" in ok.stdout
    short = askhub_here(cli_env, "user", "set-password", "amy.chen", stdin="abc\n")
    assert short.returncode == 2 and "password" in short.stderr and "Traceback" not in short.stderr
    assert "a password needs at least 8 characters" in short.stderr
    # A Dutch terminal reads the refusal in Dutch, with the number still filled in.
    dutch = {**cli_env, "ASKHUB_LANG": "nl"}
    short_nl = askhub_here(dutch, "user", "set-password", "amy.chen", stdin="abc\n")
    assert short_nl.returncode == 2
    assert (
        short_nl.stderr.strip() == "askhub: password: een wachtwoord heeft minstens 8 tekens nodig"
    )
    unknown = askhub_here(cli_env, "user", "set-password", "nobody", stdin="long enough pass\n")
    assert unknown.returncode == 2 and "nobody" in unknown.stderr


async def test_tokens_are_listed_revoked_and_expire(
    cli_env: dict[str, str], context: AppContext
) -> None:
    """A leaked token used to work forever: now it can be revoked from the CLI, and one made
    with --days stops by itself."""
    async with context.sessions() as session, session.begin():
        for handle in ("amy.chen", "tom.bakker"):
            session.add(Person(handle=handle, name=handle))

    # One real process; the other commands run in this process (in a thread: this test's
    # event loop is running), which saves an interpreter's start-up per command.
    def here(*args: str) -> subprocess.CompletedProcess[str]:
        return askhub_here(cli_env, "token", *args)

    amy = (await asyncio.to_thread(here, "create", "amy.chen")).stdout.strip().splitlines()[-1]
    tom = askhub(cli_env, "token", "create", "tom.bakker", "--days", "30")
    assert tom.returncode == 0 and "valid until" in tom.stdout
    tom_token = tom.stdout.strip().splitlines()[-1]
    async with context.sessions() as session:
        assert await person_for_token(session, amy) is not None
        assert await person_for_token(session, tom_token) is not None

    listed = await asyncio.to_thread(here, "list")
    assert listed.returncode == 0, listed.stderr
    assert "@amy.chen" in listed.stdout and "@tom.bakker" in listed.stdout
    assert amy not in listed.stdout and tom_token not in listed.stdout
    only_amy = (await asyncio.to_thread(here, "list", "amy.chen")).stdout
    assert "@amy.chen" in only_amy and "@tom.bakker" not in only_amy
    amy_id = only_amy.strip().splitlines()[-1].split()[0]

    # Bad requests change nothing.
    for args in (("revoke",), ("revoke", amy_id, "999999"), ("revoke", "--all", "nobody")):
        refused = await asyncio.to_thread(here, *args)
        assert refused.returncode == 2 and refused.stderr.startswith("askhub: "), args
    async with context.sessions() as session:
        assert await person_for_token(session, amy) is not None

    revoked = await asyncio.to_thread(here, "revoke", amy_id)
    assert revoked.returncode == 0 and "revoked 1 token" in revoked.stdout
    async with context.sessions() as session:
        assert await person_for_token(session, amy) is None

    # Expiry: the same token a moment after its time is refused.
    async with context.sessions() as session, session.begin():
        await session.execute(
            update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    async with context.sessions() as session:
        assert await person_for_token(session, tom_token) is None
    assert "(expired)" in (await asyncio.to_thread(here, "list", "tom.bakker")).stdout
    assert (
        "revoked 1 token" in (await asyncio.to_thread(here, "revoke", "--all", "tom.bakker")).stdout
    )


async def test_a_dutch_terminal_reads_what_the_commands_did_in_dutch(
    cli_env: dict[str, str], context: AppContext
) -> None:
    """Success lines, lists and setting refusals were English whatever the terminal's
    language; a Dutch admin now reads them in Dutch, numbers and handles kept."""
    async with context.sessions() as session, session.begin():
        for handle in ("amy.chen", "tom.bakker"):
            session.add(Person(handle=handle, name=handle))
    dutch = {**cli_env, "ASKHUB_LANG": "nl"}

    def here(
        *args: str, env: dict[str, str] = dutch, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return askhub_here(env, *args, stdin=stdin)

    made = await asyncio.to_thread(here, "token", "create", "amy.chen", "--days", "3")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("askhub: token voor @amy.chen, geldig tot ")
    assert "eenmalig getoond" in made.stdout
    await asyncio.to_thread(here, "token", "create", "tom.bakker")
    listed = (await asyncio.to_thread(here, "token", "list")).stdout
    assert listed.splitlines()[0].split()[-1] == "verloopt"
    revoked = await asyncio.to_thread(here, "token", "revoke", "--all", "amy.chen")
    assert revoked.stdout.strip() == "askhub: 1 token ingetrokken"
    password = await asyncio.to_thread(
        here, "user", "set-password", "tom.bakker", stdin="lang genoeg wachtwoord\n"
    )
    assert password.stdout.strip() == "askhub: wachtwoord ingesteld voor @tom.bakker"
    # The same commands on an English terminal still read English.
    english = await asyncio.to_thread(here, "token", "revoke", "--all", "tom.bakker", env=cli_env)
    assert english.stdout.strip() == "askhub: revoked 1 token"

    # A setting AskHub cannot use: refused before anything runs, in the reader's language.
    bad = {**dutch, "ASKHUB_DELIVERY_CONCURRENCY": "veel"}
    refused = await asyncio.to_thread(here, "token", "list", env=bad)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "askhub: ASKHUB_DELIVERY_CONCURRENCY moet een geheel getal van 1 tot en met 64 zijn, "
        "niet 'veel'"
    )
