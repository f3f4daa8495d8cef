#!/usr/bin/env python
"""The first calls after a start: is the first ``POST /api/calls`` as fast as the rest?

Sets up the demo organisation in a temporary data dir (as ``scripts/run`` does), then starts
``askhub serve`` ``--starts`` times and times the first ``--calls`` posts after each start. The
baseline is the same run's later posts: the ratio first / median of the others is what the
warm-up at start is for (about 1 when it works).

Usage: .venv/bin/python scripts/bench_first_call.py [--starts 2] [--calls 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TITLES = [
    "Wie weet iets van staalbouw?",
    "Who knows our GDPR rules for customer data?",
    "Heeft iemand ervaring met glasvezel in oude wijken?",
    "Who can help with Kubernetes monitoring?",
    "Zoek een collega met kennis van warmtepompen",
]


def askhub(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "askhub.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_start(env: dict[str, str], token: str, calls: int) -> tuple[float, list[float]]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "askhub.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        while True:
            try:
                if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise SystemExit("askhub serve stopped before it was ready")
            time.sleep(0.05)
        ready = time.perf_counter() - started
        headers = {"Authorization": f"Bearer {token}"}
        spent: list[float] = []
        with httpx.Client(base_url=base, timeout=120, headers=headers) as client:
            for n in range(calls):
                title = TITLES[n % len(TITLES)]
                began = time.perf_counter()
                response = client.post("/api/calls", json={"kind": "question", "title": title})
                spent.append(1000 * (time.perf_counter() - began))
                response.raise_for_status()
        return ready, spent
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    if args.calls < 3 or args.starts < 1:
        parser.error("--calls needs at least 3 (a first and a baseline), --starts at least 1")
    with tempfile.TemporaryDirectory(prefix="askhub-first-call-") as directory:
        env = {
            **os.environ,
            "ASKHUB_DATA_DIR": str(Path(directory)),
            "ASKHUB_DATABASE_URL": f"sqlite+aiosqlite:///{Path(directory) / 'askhub.db'}",
            "ASKHUB_SCHEDULER": "false",
        }
        askhub(env, "db", "upgrade")
        askhub(env, "demo", "load", "--if-empty")
        askhub(env, "index", "build")
        token = askhub(env, "token", "create", "demo").strip().splitlines()[-1]
        print(f"askhub first-call bench: demo organisation, SQLite, load {os.getloadavg()[0]:.1f}")
        for start in range(1, args.starts + 1):
            ready, spent = one_start(env, token, args.calls)
            baseline = statistics.median(spent[1:])
            shown = " / ".join(f"{ms:.0f}" for ms in spent)
            print(
                f"start {start}: ready after {ready:.1f} s; POST /api/calls {shown} ms; "
                f"first / median of the rest = {spent[0] / baseline:.2f}"
            )


if __name__ == "__main__":
    main()
