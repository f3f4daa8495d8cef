"""``askhub call …``: the asker's controls from the command line, through the same service
as the API and the pages; refusals are one line on stderr and exit code 2."""

from __future__ import annotations

import asyncio
import csv
import io

from sqlalchemy import select

from askhub.calls import service
from askhub.calls.schemas import CallCreate, ReplyCreate
from askhub.context import AppContext
from askhub.people.service import get_by_handle
from models import CallStatus, Nudge
from tests.test_cli import askhub, askhub_here


async def test_close_reopen_export_and_message_from_the_command_line(
    cli_env: dict[str, str], org: AppContext
) -> None:
    async with org.sessions() as session, session.begin():
        asker = await get_by_handle(session, "asker")
        tom = await get_by_handle(session, "tom.bakker")
        assert asker and tom
        call = await service.create_call(
            session,
            org.routing,
            org.settings,
            asker,
            CallCreate(kind="volunteers", title="Testers voor het nieuwe modem", needed=3),
        )
        await service.add_reply(session, org.settings, call, tom, ReplyCreate(kind="volunteer"))
        call_id = str(call.id)

    listed = askhub(cli_env, "call", "volunteers", call_id, "--as", "asker")
    assert listed.returncode == 0, listed.stderr
    assert [r["handle"] for r in csv.DictReader(io.StringIO(listed.stdout))] == ["tom.bakker"]

    # The command above ran as a real process; these run in this process (in a thread: the
    # test's event loop is running), which saves an interpreter's start-up per command.
    sent = await asyncio.to_thread(
        askhub_here, cli_env, "call", "message", call_id, "Het pakket komt maandag", "--as", "asker"
    )
    assert sent.returncode == 0 and "1 volunteer" in sent.stdout, sent.stderr

    refused = await asyncio.to_thread(
        askhub_here, cli_env, "call", "close", call_id, "--as", "bram.devries"
    )
    assert refused.returncode == 2 and "Only the asker or a manager" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    closed = await asyncio.to_thread(
        askhub_here, cli_env, "call", "close", call_id, "--as", "asker"
    )
    assert closed.returncode == 0 and "closed" in closed.stdout, closed.stderr
    twice = await asyncio.to_thread(askhub_here, cli_env, "call", "close", call_id, "--as", "asker")
    assert twice.returncode == 2 and "already closed" in twice.stderr
    bad = await asyncio.to_thread(
        askhub_here, cli_env, "call", "reopen", call_id, "--as", "asker", "--deadline", "tomorrow"
    )
    assert bad.returncode == 2 and "--deadline" in bad.stderr
    reopened = await asyncio.to_thread(
        askhub_here,
        cli_env,
        "call",
        "reopen",
        call_id,
        "--as",
        "asker",
        "--deadline",
        "2099-01-01T10:00+01:00",
    )
    assert reopened.returncode == 0, reopened.stderr
    missing = await asyncio.to_thread(
        askhub_here, cli_env, "call", "withdraw", "999999", "--as", "asker"
    )
    assert missing.returncode == 2 and "no call with id 999999" in missing.stderr
    # A Dutch terminal: the same refusals in Dutch, with the call's number kept.
    dutch = {**cli_env, "ASKHUB_LANG": "nl"}
    missing_nl = await asyncio.to_thread(
        askhub_here, dutch, "call", "withdraw", "999999", "--as", "asker"
    )
    assert missing_nl.returncode == 2
    assert missing_nl.stderr.strip() == "askhub: geen oproep met id 999999"
    refused_nl = await asyncio.to_thread(
        askhub_here, dutch, "call", "close", call_id, "--as", "bram.devries"
    )
    assert refused_nl.returncode == 2
    assert refused_nl.stderr.strip() == (
        f"askhub: oproep {call_id}: Alleen de vrager of een manager mag dit doen."
    )

    async with org.sessions() as session:
        stored = await service.get_call(session, int(call_id))
        assert stored is not None and stored.status == CallStatus.OPEN
        assert stored.deadline is not None and stored.deadline.year == 2099
        notes = [n.payload["subject"] for n in await session.scalars(select(Nudge))]
    assert any("about Testers" in str(s) for s in notes)
