"""The ``askhub`` command. Bad input ends with one line on stderr and exit code 2."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from askhub.context import AppContext
from askhub.i18n import environment_language, localise_error, plural_translator, translator
from askhub.progress import TerminalProgress
from askhub.settings import SettingError, Settings
from askhub.settings import load as load_settings
from askhub.validation import InputError
from models import ApiToken, Person, Role

T = TypeVar("T")
DEMO_HANDLE = "demo"


def t(message: str, **values: object) -> str:
    """A message for the person at the terminal, in their language (ASKHUB_LANG or LANG)."""
    return translator(environment_language())(message, **values)


def tn(singular: str, plural: str, n: int, **values: object) -> str:
    """``t`` for a count: the form the terminal's language needs for ``n``."""
    return plural_translator(environment_language())(singular, plural, n, **values)


def say(message: str, **values: object) -> None:
    """One ``askhub:`` line on stdout, ``message`` translated (see :func:`t`)."""
    click.echo(f"askhub: {t(message, **values)}")


def fail(message: str, **values: object) -> NoReturn:
    """Exit 2 with one line on stderr: ``message`` (a message id, ``{placeholders}`` filled
    with ``values``) in the terminal's language."""
    click.echo(f"askhub: {t(message, **values)}", err=True)
    sys.exit(2)


def explain(exc: BaseException) -> str:
    """A service's refusal in the terminal's language (its values filled in after the
    translation), after the field it names."""
    message = localise_error(exc, environment_language())
    field = getattr(exc, "field", None)
    return f"{field}: {message}" if field else message


def refuse(exc: BaseException) -> NoReturn:
    """Exit 2 with a service's refusal, translated (see :func:`explain`)."""
    click.echo(f"askhub: {explain(exc)}", err=True)
    sys.exit(2)


def shown_progress() -> TerminalProgress:
    """Progress of long work on stderr (a bar on a terminal, else a line per few seconds);
    stdout keeps the result alone."""
    return TerminalProgress(sys.stderr)


def run(work: Callable[[AppContext], Awaitable[T]]) -> T:
    """Run ``work`` with a fresh context; a database that is not set up is a clear error."""

    async def main() -> T:
        context = AppContext.create(Settings())
        try:
            return await work(context)
        finally:
            await context.close()

    try:
        return asyncio.run(main())
    except (OperationalError, ProgrammingError) as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            fail("the database has no AskHub schema yet: run `askhub db upgrade` first")
        raise


@click.group()
def main() -> None:
    """AskHub: route a colleague's open call to the people most likely to answer it."""
    try:
        load_settings()
    except SettingError as exc:
        refuse(exc)


@main.command()
@click.option("--host", default=None, help="Interface to bind (default ASKHUB_HOST or 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port (default ASKHUB_PORT or 8000).",
)
def serve(host: str | None, port: int | None) -> None:
    """Serve the web app and API."""
    import uvicorn

    from askhub.app import create_app
    from askhub.logs import configure

    settings = Settings()
    app = create_app(settings=settings, freeze=True)
    config = server_config(app, host or settings.host, port or settings.port, settings.log_level)
    configure(settings.log_level)
    uvicorn.Server(config).run()


def server_config(
    app: Any, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info"
) -> Any:
    """How ``askhub serve`` runs uvicorn. Its proxy-header handling stays off: by default it
    believes X-Forwarded-For from loopback, which let anyone on the machine (or behind a
    local proxy that passes the header on) pick the address the sign-in limit counts. AskHub
    reads the header itself, from ASKHUB_TRUSTED_PROXIES only. Its access log stays off too:
    it writes the raw path and query string (a one-click link's token); AskHub logs one line
    per request itself (askhub.logs)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=False,
        access_log=False,
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    from models.db import MigrationRefused, upgrade

    async def work(context: AppContext) -> None:
        await upgrade(context.engine)

    try:
        run(work)
    except MigrationRefused as exc:
        fail("the database was not upgraded: {error}", error=exc)
    say("database is up to date")


@main.group()
def demo() -> None:
    """The demo organisation."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Only load into a database without people.")
def demo_load(if_empty: bool) -> None:
    """Load the demo organisation (Telenova) and index it."""
    from askhub.demo.history import load_history
    from askhub.demo.organisation import build_demo_people
    from askhub.people.schemas import PersonIn
    from askhub.people.service import upsert_people

    async def work(context: AppContext) -> str:
        async with context.sessions() as session, session.begin():
            people = await session.scalar(select(func.count()).select_from(Person))
            if if_empty and people:
                return t("askhub: {people} people already loaded; demo not loaded", people=people)
            records = [msgspec.convert(p, PersonIn) for p in build_demo_people()]
            records.append(
                PersonIn(
                    handle=DEMO_HANDLE,
                    name="Demo Gebruiker",
                    email="demo@telenova.example",
                    department="Innovatie",
                    location="Utrecht",
                    languages=["nl", "en"],
                )
            )
            result = await upsert_people(session, records, source="demo")
            demo_person = await session.scalar(select(Person).where(Person.handle == DEMO_HANDLE))
            assert demo_person is not None
            # The demo user may see who every call went to, as a facilitator would.
            demo_person.role = Role.MANAGER
            # Eight weeks of calls and replies, so the dashboard has a history to show.
            calls = await load_history(session, datetime.now(UTC))
        with shown_progress() as progress:
            await context.routing.embed_missing(context.sessions, progress)
        return t(
            "askhub: demo organisation loaded: {created} new, {updated} updated, {posts} posts, "
            "{calls} calls",
            created=result.created,
            updated=result.updated,
            posts=result.posts_added,
            calls=calls,
        )

    click.echo(run(work))


@main.group("import")
def import_group() -> None:
    """Import people and history."""


@import_group.command("people")
@click.argument("file", type=click.Path(path_type=Path))
def import_people(file: Path) -> None:
    """Import people from JSON lines (one person a line); idempotent by handle."""
    from askhub.imports.people import ImportFileError, read_people_file
    from askhub.people.service import upsert_people

    try:
        records = read_people_file(file)
    except ImportFileError as exc:
        fail("{error}; nothing was imported", error=exc)

    async def work(context: AppContext) -> str:
        async with context.sessions() as session, session.begin():
            result = await upsert_people(session, records)
        with shown_progress() as progress:
            embedded = await context.routing.embed_missing(context.sessions, progress)
        return t(
            "askhub: imported {people} people ({created} new, {updated} updated), {added} posts "
            "added, {removed} removed, {embedded} embedded",
            people=len(records),
            created=result.created,
            updated=result.updated,
            added=result.posts_added,
            removed=result.posts_removed,
            embedded=embedded,
        )

    try:
        click.echo(run(work))
    except InputError as exc:
        fail("{file}: {error}; nothing was imported", file=file.name, error=explain(exc))


@main.command()
@click.argument("text")
@click.option("--k", "k", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def route(text: str, k: int, as_json: bool) -> None:
    """Show who a call with TEXT would be routed to, and why."""
    if not text.strip():
        fail(t("TEXT is empty: say what the call is about"))

    async def work(context: AppContext) -> tuple[list[dict[str, object]], dict[str, object]]:
        async with context.sessions() as session:
            routed = await context.routing.route(session, text, k=k)
        context.routing.save()
        return [
            {
                "handle": r.person.handle,
                "name": r.person.name,
                "department": r.person.department,
                "score": r.score,
                "p_answer": r.p_answer,
                "rank": r.rank,
                "reasons": r.reasons,
            }
            for r in routed
        ], context.routing.ranker_state()

    matches, ranker = run(work)
    if as_json:
        click.echo(json.dumps({"ranker": ranker, "matches": matches}, ensure_ascii=False, indent=2))
        return
    if not matches:
        click.echo(t("Nobody found: the index has no matching evidence. Try other words."))
    for m in matches:
        click.echo(
            f"{m['rank']:>2}. {m['name']} (@{m['handle']}, {m['department'] or '-'})  "
            + t("score {score}", score=f"{m['score']:.3f}")
        )
        for reason in m["reasons"]:  # type: ignore[attr-defined]
            why = t("why")
            click.echo(f"      {why}: {reason['title'] or reason['kind']}: {reason['snippet']}")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.argument("handle")
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=None,
    help="The token stops working after this many days (default: when revoked).",
)
def token_create(handle: str, days: int | None) -> None:
    """Create an API token for HANDLE; the token is printed alone on the last line."""
    from askhub.auth.service import create_token

    expires_at = datetime.now(UTC) + timedelta(days=days) if days else None

    async def work(context: AppContext) -> str | None:
        async with context.sessions() as session, session.begin():
            person = await session.scalar(select(Person).where(Person.handle == handle))
            if person is None:
                return None
            return await create_token(session, person, expires_at)

    created = run(work)
    if created is None:
        fail("no person with handle {handle}", handle=repr(handle))
    if expires_at is not None:
        say(
            "token for @{handle}, valid until {until} UTC (shown once; send as "
            "'Authorization: Bearer …'):",
            handle=handle,
            until=f"{expires_at:%Y-%m-%d %H:%M}",
        )
    else:
        say("token for @{handle} (shown once; send as 'Authorization: Bearer …'):", handle=handle)
    click.echo(created)


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "-"


@token.command("list")
@click.argument("handle", required=False)
def token_list(handle: str | None) -> None:
    """List API tokens (HANDLE's, or everyone's): id, person, created, last used, expiry.
    The tokens themselves are not stored and cannot be shown."""
    from askhub.auth.service import list_tokens

    async def work(context: AppContext) -> list[str] | None:
        async with context.sessions() as session:
            if (
                handle is not None
                and await session.scalar(select(Person.id).where(Person.handle == handle)) is None
            ):
                return None
            now = datetime.now(UTC)
            return [
                f"{tok.id:>6}  @{owner:<24} {_when(tok.created_at):<17} "
                f"{_when(tok.last_used_at):<17} {_when(tok.expires_at)}"
                + (
                    "  " + t("(expired)")
                    if tok.expires_at is not None and tok.expires_at <= now
                    else ""
                )
                for tok, owner in await list_tokens(session, handle)
            ]

    lines = run(work)
    if lines is None:
        fail("no person with handle {handle}", handle=repr(handle))
    if not lines:
        say("no API tokens")
        return
    click.echo(
        f"{'id':>6}  {t('person'):<25} {t('created (UTC)'):<17} {t('last used'):<17} "
        + t("expires")
    )
    for line in lines:
        click.echo(line)


@token.command("revoke")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "all_of", metavar="HANDLE", default=None, help="Every token of HANDLE.")
def token_revoke(ids: tuple[int, ...], all_of: str | None) -> None:
    """Revoke tokens by id (see `askhub token list`), or all of one person with --all HANDLE.
    They are refused from the next request on."""
    from askhub.auth.service import revoke_tokens

    if bool(ids) == bool(all_of):
        fail("say which tokens: one or more ids, or --all HANDLE (not both)")

    async def work(context: AppContext) -> int | str:
        async with context.sessions() as session, session.begin():
            if all_of is not None:
                owner = await session.scalar(select(Person.id).where(Person.handle == all_of))
                if owner is None:
                    return t("no person with handle {handle}", handle=repr(all_of))
            if ids:
                known = set(await session.scalars(select(ApiToken.id).where(ApiToken.id.in_(ids))))
                unknown = sorted(set(ids) - known)
                if unknown:
                    return t(
                        "no token with id {ids}; nothing revoked", ids=", ".join(map(str, unknown))
                    )
            return await revoke_tokens(session, ids, all_of)

    revoked = run(work)
    if isinstance(revoked, str):
        fail(revoked)
    click.echo("askhub: " + tn("revoked {n} token", "revoked {n} tokens", revoked))


@main.group()
def people() -> None:
    """People and their data."""


@people.command("erase")
@click.argument("handle")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def people_erase(handle: str, yes: bool) -> None:
    """Erase HANDLE (GDPR art. 17): profile, posts and vectors, the calls they asked, their
    tokens. Their replies stay for the askers, anonymised."""
    from askhub.privacy.service import Erasure, erase_by_handle

    if not yes:
        click.confirm(
            t(
                "Erase @{handle} and everything that is theirs? This cannot be undone",
                handle=handle,
            ),
            abort=True,
        )

    async def work(context: AppContext) -> Erasure | None:
        erased = await erase_by_handle(context.sessions, context.routing, handle)
        # A running server forgets the vectors at its next sync; the index file on disk may
        # still hold them, so it goes (the next start rebuilds it from the database).
        if erased is not None:
            context.settings.index_path.unlink(missing_ok=True)
        return erased

    erased = run(work)
    if erased is None:
        fail("no person with handle {handle}", handle=repr(handle))
    say(
        "erased @{handle}: {posts} posts, {vectors} vectors and {calls} calls removed; "
        "{replies} replies kept without their name",
        handle=handle,
        posts=erased.posts,
        vectors=erased.vectors,
        calls=erased.calls,
        replies=erased.replies_kept,
    )


@main.group()
def user() -> None:
    """Web sign-in accounts."""


@user.command("set-password")
@click.argument("handle")
def user_set_password(handle: str) -> None:
    """Set HANDLE's web password, read from standard input (first line)."""
    from askhub.auth.accounts import set_password

    password = sys.stdin.readline().rstrip("\r\n")

    async def work(context: AppContext) -> str | None:
        async with context.sessions() as session, session.begin():
            person = await session.scalar(select(Person).where(Person.handle == handle))
            if person is None:
                return None
            await set_password(session, person, password)
            return person.handle

    try:
        done = run(work)
    except InputError as exc:
        refuse(exc)
    if done is None:
        fail("no person with handle {handle}", handle=repr(handle))
    say("password set for @{handle}", handle=handle)


@main.command("backup")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def backup_command(file: Path) -> None:
    """Back up the database to FILE (a new file), consistent while the app runs: SQLite's
    backup API, or pg_dump -Fc on PostgreSQL."""
    from askhub.operations.backup import BackupError, backup

    try:
        size = backup(Settings().database_url, file)
    except BackupError as exc:
        fail(t(exc.message, **exc.values))
    say("backed up to {file} ({size} bytes)", file=file, size=f"{size:,}")


@main.command("restore")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that holds data.")
def restore_command(file: Path, force: bool) -> None:
    """Restore the database from FILE (made by `askhub backup`), then rebuild the routing
    index from the stored vectors. Stop the server first."""
    from askhub.operations.backup import BackupError, rebuild_index, restore
    from models.db import MigrationRefused, upgrade

    url = Settings().database_url
    try:
        asyncio.run(restore(url, file, force))
    except BackupError as exc:
        fail(t(exc.message, **exc.values))

    async def work(context: AppContext) -> dict[str, object]:
        # A backup of an older version gets this version's schema.
        await upgrade(context.engine)
        return await rebuild_index(context.routing, context.sessions, context.settings.index_path)

    try:
        state = run(work)
    except MigrationRefused as exc:
        fail("restored, but the database was not upgraded: {error}", error=exc)
    say(
        "restored from {file}; index rebuilt from stored vectors: {documents} documents, "
        "{vectors} vectors, {people} people",
        file=file,
        documents=state["documents"],
        vectors=state["vectors"],
        people=state["people"],
    )


@main.group()
def index() -> None:
    """The expertise index."""


def search_summary(search: dict[str, Any]) -> str:
    """One line on how the index searches: exact, or approximate with its measured recall."""
    recall = search.get("recall")
    if search["kind"] != "ivf" or not recall:
        if search.get("last_build_error"):
            return t(
                "askhub: exact search; building the approximate index failed: {error}",
                error=search["last_build_error"],
            )
        return t("askhub: exact search over {vectors} vectors", vectors=search["vectors"])
    kept = recall.get("people_top10_kept")
    return t(
        "askhub: approximate search (IVF, {nlist} lists, {nprobe} probed) over {vectors} "
        "vectors, built in {seconds} s; recall against exact ({measured} probed) on {queries} "
        "stored passages: {recalls}; {people} of the exact top-10 people kept",
        nlist=search["nlist"],
        nprobe=search["nprobe"],
        vectors=search["vectors"],
        seconds=recall["build_seconds"],
        queries=recall["queries"],
        measured=recall["nprobe"],
        recalls=", ".join(
            f"@{key.removeprefix('recall_at_')} {value:.3f}"
            for key, value in recall.items()
            if key.startswith("recall_at_")
        ),
        people="-" if kept is None else f"{kept:.0%}",
    )


@index.command("build")
def index_build() -> None:
    """Embed posts that have no vector yet and write the index to the data dir."""

    async def work(context: AppContext) -> str:
        with shown_progress() as progress:
            embedded = await context.routing.embed_missing(context.sessions, progress)
        # Above ASKHUB_APPROXIMATE_ABOVE the approximate index is built now, on every core,
        # and saved with the recall measured, so a server starts with it.
        context.routing.build_threads = None
        async with context.sessions() as session:
            await context.routing.sync(session)
        await context.routing.wait_approximate()
        context.routing.save()
        state = context.routing.state()
        click.echo(search_summary(context.routing.search_state()), err=True)
        return t(
            "askhub: index ready ({model}): {documents} documents, {vectors} vectors, {people} "
            "people; {embedded} newly embedded",
            model=state["model"],
            documents=state["documents"],
            vectors=state["vectors"],
            people=state["people"],
            embedded=embedded,
        )

    click.echo(run(work))


@index.command("rebuild")
def index_rebuild() -> None:
    """Re-embed everything with the configured model (after a model change)."""

    async def work(context: AppContext) -> str:
        async with context.sessions() as session, session.begin():
            dropped = await context.routing.drop_other_models(session)
        context.settings.index_path.unlink(missing_ok=True)
        with shown_progress() as progress:
            embedded = await context.routing.embed_missing(context.sessions, progress)
        context.routing.build_threads = None
        async with context.sessions() as session:
            await context.routing.sync(session)
        await context.routing.wait_approximate()
        context.routing.save()
        return t(
            "askhub: rebuilt with {model}: {embedded} posts embedded, {dropped} old vectors "
            "dropped",
            model=context.routing.model_id,
            embedded=embedded,
            dropped=dropped,
        )

    click.echo(run(work))


@import_group.command("stackexchange")
@click.argument("folder", type=click.Path(path_type=Path))
def import_stackexchange_command(folder: Path) -> None:
    """Import a Stack Exchange dump folder (Users.xml, Posts.xml); idempotent."""
    from askhub.imports.stackexchange import DumpError
    from askhub.imports.stackexchange_import import import_stackexchange

    # The whole dump is read and checked before the database is touched.
    try:
        with shown_progress() as progress:
            summary = run(
                lambda context: import_stackexchange(
                    context, folder, progress, translator(environment_language())
                )
            )
    except DumpError as exc:
        fail("{folder}: {error}; nothing was imported", folder=folder, error=exc)
    click.echo(summary)


@main.group("eval")
def eval_group() -> None:
    """Offline evaluations in a temporary database."""


@eval_group.command("routing")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--rankings",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write AskHub's top 100 UserIds per test question as JSON lines (one dump only).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_routing(folders: tuple[Path, ...], rankings: Path | None, as_json: bool) -> None:
    """Measure routing on Stack Exchange dumps against baselines, per site and pooled."""
    from askhub.evaluation.routing import (
        EvaluationError,
        evaluate_routing,
        evaluate_sites,
        format_sites,
        format_table,
    )
    from askhub.imports.stackexchange import DumpError

    if rankings is not None and len(folders) != 1:
        fail("--rankings: give exactly one dump folder")
    if rankings is not None and not rankings.parent.is_dir():
        fail("--rankings: folder {folder} does not exist", folder=rankings.parent)
    started = time.perf_counter()
    try:
        with shown_progress() as progress:
            if len(folders) == 1:
                report = asyncio.run(evaluate_routing(folders[0], rankings, progress=progress))
            else:
                report = asyncio.run(evaluate_sites(folders, progress=progress))
    except (DumpError, EvaluationError) as exc:
        # One dump: name it (as before); several: the error names the dump itself.
        if len(folders) == 1:
            fail("{folder}: {error}", folder=folders[0], error=exc)
        fail("{error}", error=exc)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    elif len(folders) == 1:
        click.echo(format_table(report))
    else:
        click.echo(format_sites(report))
        click.echo(f"({time.perf_counter() - started:.0f} s)")


@main.group()
def routing() -> None:
    """The ranker fitted on this organisation's history."""


@routing.command("fit")
def routing_fit() -> None:
    """Fit the ranker on the history in the database; it ranks from the next call on."""
    from askhub.routing.learning import NotEnoughHistory

    async def work(context: AppContext) -> str:
        try:
            with shown_progress() as progress:
                report = await context.routing.fit(context.sessions, progress)
        except NotEnoughHistory as exc:
            refuse(exc)
        metrics = report.ranker.metrics
        return t(
            "askhub: fitted ranker v{version} on {questions} questions ({answers} answers) in "
            "{seconds} s; held-back Brier {brier} (constant {constant})",
            version=report.model_id,
            questions=report.ranker.questions,
            answers=report.ranker.positives,
            seconds=f"{report.seconds:.1f}",
            brier=f"{metrics.get('brier', float('nan')):.4f}",
            constant=f"{metrics.get('brier_constant', float('nan')):.4f}",
        )

    click.echo(run(work))


@main.group()
def call() -> None:
    """The asker's controls of a call, as the API and the web pages offer them."""


AS_OPTION = click.option(
    "--as",
    "handle",
    required=True,
    metavar="HANDLE",
    help="Who acts: the asker, or a manager or admin.",
)


def _deadline_option(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(
            "--deadline: not a date and time: {value} (e.g. 2026-12-01T17:00+01:00)",
            value=repr(value),
        )
    if parsed.tzinfo is None:
        fail("--deadline: give a time zone, e.g. 2026-12-01T17:00+01:00")
    return parsed


def _on_call(call_id: int, handle: str, act: Callable[[Any, Any, Any, Any], Awaitable[str]]) -> str:
    """Run ``act(context, session, call, person)`` in one transaction; a refusal or bad input
    is one line on stderr and exit 2."""
    from askhub.calls.service import get_call
    from askhub.people.service import get_by_handle
    from askhub.validation import NotFound, NotPermitted

    async def work(context: AppContext) -> str:
        async with context.sessions() as session, session.begin():
            person = await get_by_handle(session, handle)
            if person is None:
                fail("no person with handle {handle}", handle=repr(handle))
            found = await get_call(session, call_id)
            if found is None:
                fail("no call with id {id}", id=call_id)
            return await act(context, session, found, person)

    try:
        return run(work)
    except (InputError, NotPermitted, NotFound) as exc:
        fail("call {id}: {error}", id=call_id, error=explain(exc))


@call.command("close")
@click.argument("call_id", type=click.IntRange(1, 2**31 - 1))
@AS_OPTION
def call_close(call_id: int, handle: str) -> None:
    """Close CALL_ID now; the people still asked hear they are no longer needed."""
    from askhub.calls import control

    async def act(context: AppContext, session: Any, found: Any, person: Any) -> str:
        await control.close(session, context.settings, found, person)
        return t("askhub: call {id} closed", id=call_id)

    click.echo(_on_call(call_id, handle, act))


@call.command("reopen")
@click.argument("call_id", type=click.IntRange(1, 2**31 - 1))
@AS_OPTION
@click.option("--deadline", default=None, help="A new deadline (ISO 8601 with a time zone).")
def call_reopen(call_id: int, handle: str, deadline: str | None) -> None:
    """Open a closed or expired CALL_ID again."""
    from askhub.calls import control

    when = _deadline_option(deadline)

    async def act(context: AppContext, session: Any, found: Any, person: Any) -> str:
        await control.reopen(session, context.settings, found, person, when)
        return t("askhub: call {id} reopened", id=call_id)

    click.echo(_on_call(call_id, handle, act))


@call.command("extend")
@click.argument("call_id", type=click.IntRange(1, 2**31 - 1))
@AS_OPTION
@click.option("--deadline", required=True, help="The new deadline (ISO 8601 with a time zone).")
def call_extend(call_id: int, handle: str, deadline: str) -> None:
    """Give open CALL_ID a new deadline."""
    from askhub.calls import control

    when = _deadline_option(deadline)
    assert when is not None

    async def act(context: AppContext, session: Any, found: Any, person: Any) -> str:
        await control.extend(session, found, person, when)
        return t(
            "askhub: call {id} now has its deadline at {deadline}",
            id=call_id,
            deadline=when.isoformat(),
        )

    click.echo(_on_call(call_id, handle, act))


@call.command("withdraw")
@click.argument("call_id", type=click.IntRange(1, 2**31 - 1))
@AS_OPTION
def call_withdraw(call_id: int, handle: str) -> None:
    """Withdraw CALL_ID: everyone asked and every volunteer hears it is off."""
    from askhub.calls import control

    async def act(context: AppContext, session: Any, found: Any, person: Any) -> str:
        await control.withdraw(session, context.settings, context.routing, found, person)
        return t("askhub: call {id} withdrawn", id=call_id)

    click.echo(_on_call(call_id, handle, act))


@call.command("volunteers")
@click.argument("call_id", type=click.IntRange(1, 2**31 - 1))
@AS_OPTION
def call_volunteers(call_id: int, handle: str) -> None:
    """Print CALL_ID's volunteers as CSV (handle, name, email, department, location, when,
    note)."""
    from askhub.calls import control

    async def act(context: AppContext, session: Any, found: Any, person: Any) -> str:
        return control.volunteers_csv(found, person)

    click.echo(_on_call(call_id, handle, act), nl=False)


@call.command("message")
@click.argument("call_id", type=click.IntRange(1, 2**31 - 1))
@click.argument("text")
@AS_OPTION
def call_message(call_id: int, text: str, handle: str) -> None:
    """Send TEXT to every volunteer of CALL_ID, through their own channels."""
    from askhub.calls import control

    async def act(context: AppContext, session: Any, found: Any, person: Any) -> str:
        sent = await control.message_volunteers(session, context.settings, found, person, text)
        return "askhub: " + tn(
            "message queued for {n} volunteer", "message queued for {n} volunteers", sent
        )

    click.echo(_on_call(call_id, handle, act))


# -- facilitation: introductions and ambassadors --------------------------------------------------


def _introduce(handle: str, fields: dict[str, Any]) -> str:
    """Make an introduction as ``handle`` (a manager or admin); one line on success, one line
    on stderr and exit 2 on a refusal or bad input."""
    from askhub.calls.introductions import BudgetSpent, IntroductionIn, introduce
    from askhub.people.service import get_by_handle
    from askhub.validation import NotPermitted

    try:
        data = msgspec.convert(fields, IntroductionIn)
    except msgspec.ValidationError as exc:
        refuse(exc)

    async def work(context: AppContext) -> str:
        async with context.sessions() as session, session.begin():
            person = await get_by_handle(session, handle)
            if person is None:
                fail(t("no person with handle {handle}", handle=repr(handle)))
            made = await introduce(
                session, context.settings, person, data, t=translator(environment_language())
            )
            return t(
                "introduced; {n} introductions left this week for {handle}",
                n=made.left_this_week,
                handle=handle,
            )

    try:
        return "askhub: " + run(work)
    except (BudgetSpent, InputError, NotPermitted) as exc:
        refuse(exc)


@call.command("introduce")
@click.argument("call_id", type=click.IntRange(1, 2**31 - 1))
@click.argument("person")
@click.option("--note", required=True, help="Why them: they read this.")
@AS_OPTION
def call_introduce(call_id: int, person: str, note: str, handle: str) -> None:
    """Introduce PERSON (a handle) to CALL_ID: they are asked at once, with your name and note,
    outside their weekly budget (it counts against yours)."""
    click.echo(_introduce(handle, {"call_id": call_id, "person": person, "note": note}))


@people.command("introduce")
@click.argument("person")
@click.argument("other")
@click.option("--note", required=True, help="Why they should meet: both read this.")
@AS_OPTION
def people_introduce(person: str, other: str, note: str, handle: str) -> None:
    """Introduce PERSON and OTHER (handles) to each other; both hear who did and why."""
    click.echo(_introduce(handle, {"person": person, "other": other, "note": note}))


@people.command("ambassador")
@click.argument("person")
@click.option("--off", is_flag=True, help="No longer an ambassador (their link stops).")
@AS_OPTION
def people_ambassador(person: str, off: bool, handle: str) -> None:
    """Make PERSON an ambassador and print their invitation link (or, with --off, stop)."""
    from askhub.people import ambassadors
    from askhub.people.service import get_by_handle
    from askhub.validation import NotPermitted

    async def work(context: AppContext) -> str:
        async with context.sessions() as session, session.begin():
            by = await get_by_handle(session, handle)
            who = await get_by_handle(session, person)
            if by is None or who is None:
                missing = handle if by is None else person
                fail(t("no person with handle {handle}", handle=repr(missing)))
            if off:
                await ambassadors.dismiss(session, by, who)
                return t("askhub: @{handle} is no longer an ambassador", handle=person)
            made = await ambassadors.appoint(session, by, who)
            return ambassadors.link_of(context.settings.base_url, made)

    try:
        click.echo(run(work))
    except NotPermitted as exc:
        refuse(exc)


@people.command("ambassadors")
@AS_OPTION
def people_ambassadors(handle: str) -> None:
    """Every ambassador: colleagues who came through their link, and how many of those
    completed their profile (tab-separated: handle, invited, completed, link)."""
    from askhub.people import ambassadors
    from askhub.people.service import get_by_handle
    from askhub.validation import NotPermitted

    async def work(context: AppContext) -> list[str]:
        async with context.sessions() as session:
            by = await get_by_handle(session, handle)
            if by is None:
                fail(t("no person with handle {handle}", handle=repr(handle)))
            found = await ambassadors.all_ambassadors(session, context.settings.base_url, by)
        return [f"{a.person.handle}\t{a.invited}\t{a.completed}\t{a.link}" for a in found]

    try:
        lines = run(work)
    except NotPermitted as exc:
        refuse(exc)
    for line in lines:
        click.echo(line)


if __name__ == "__main__":
    main()
