"""The loop simulator runs the real ticks on a virtual clock and reports what the README quotes
(a small organisation here; the 18,000-person figures come from a manual run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_simulator_reports_per_call_kind_and_keeps_budgets() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "scripts/bench_loop.py",
            "--people",
            "300",
            "--days",
            "1",
            "--tick",
            "60",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["people"] == 300
    assert {"question", "volunteers"} <= set(report["by_kind"])
    modem = report["modem"]
    # 100 needed at a 5% prior from 300 people: everyone who may be asked is asked at once.
    assert modem["asked"] >= 250
    assert report["max_asks_any_7_days"] <= report["weekly_budget"]
    assert report["by_kind"]["question"]["asked_per_call_max"] <= 15
