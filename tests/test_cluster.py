"""``scripts/cluster``: two ``askhub serve`` processes and the round-robin proxy, started as an
operator would, answer through the proxy's one address, and stop together on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from askhub.auth.service import create_token
from askhub.context import AppContext
from models import Person
from tests.conftest import ON_POSTGRES

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 240  # seconds: two processes load the model and the index on a busy machine


def free_base_port() -> int:
    """A port with the next two free as well (proxy, app1, app2)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base > 65000:
            continue
        try:
            for port in (base, base + 1, base + 2):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no three free ports in a row")


def refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_on_sqlite_it_refuses_with_one_line(tmp_path: Path) -> None:
    """Several processes need PostgreSQL: SQLite is refused before anything starts."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "cluster"), f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"],
        env=dict(os.environ, ASKHUB_PYTHON=sys.executable, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "PostgreSQL" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a.db").exists()


@pytest.mark.skipif(not ON_POSTGRES, reason="several processes need PostgreSQL: run with -m db")
async def test_two_processes_answer_through_the_proxy_and_stop_on_ctrl_c(
    org: AppContext, database_url: str, tmp_path: Path
) -> None:
    async with org.sessions() as session, session.begin():
        person = await session.scalar(select(Person).order_by(Person.id).limit(1))
        assert person is not None
        token = await create_token(session, person)
    base = free_base_port()
    env = dict(
        os.environ,
        ASKHUB_PYTHON=sys.executable,
        PYTHONPATH=str(ROOT),
        ASKHUB_CLUSTER_PORT=str(base),
        ASKHUB_CLUSTER_DIR=str(tmp_path / "cluster"),
        ASKHUB_LANG="en",
    )
    env.pop("ASKHUB_DATABASE_URL", None)
    cluster = subprocess.Popen(  # noqa: ASYNC220 (returns at once; the script runs apart)
        [str(ROOT / "scripts" / "cluster"), database_url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C goes to the whole group, as in a terminal
    )
    try:
        assert cluster.stdout is not None
        printed = []
        for line in cluster.stdout:  # ends when the script exits
            printed.append(line)
            if line.startswith("Ctrl-C"):
                break
        assert cluster.poll() is None, "".join(printed)
        assert f"http://127.0.0.1:{base}" in "".join(printed)

        headers = {"Authorization": f"Bearer {token}"}
        seen: set[str] = set()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{base}", timeout=60) as client:
            for _ in range(6):
                response = await client.get("/api/people/me", headers=headers)
                assert response.status_code == 200, response.text
                assert response.json()["handle"] == person.handle
                seen.add(response.headers["x-askhub-upstream"])
            posted = await client.post(
                "/api/calls",
                headers=headers,
                json={"kind": "question", "title": "Who knows about steel construction?"},
            )
            assert posted.status_code == 201, posted.text
            assert posted.json()["matches"]
            # A request with no valid token is refused by whichever process gets it.
            assert (await client.get("/api/people/me")).status_code == 401
        assert seen == {f"http://127.0.0.1:{base + 1}", f"http://127.0.0.1:{base + 2}"}

        os.killpg(cluster.pid, signal.SIGINT)
        cluster.wait(timeout=DEADLINE)
        deadline = time.monotonic() + DEADLINE
        while not all(refused(port) for port in (base, base + 1, base + 2)):
            assert time.monotonic() < deadline, "a process still listens after Ctrl-C"
            await asyncio.sleep(0.2)
    finally:
        if cluster.poll() is None:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()
