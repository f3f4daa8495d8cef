"""Long CLI work shows its progress on stderr, never on stdout (which scripts parse)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from askhub.progress import TerminalProgress
from tests.conftest import ORG
from tests.test_cli import askhub, askhub_here


def _expected_posts(path: Path) -> int:
    """Posts an import of ``path`` embeds: each person's own posts and their profile."""
    people = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return len(people) + sum(len(p.get("posts", [])) for p in people)


def test_an_import_writes_progress_to_stderr_and_leaves_stdout_alone(
    cli_env: dict[str, str],
) -> None:
    # A real process with stderr on a pipe (not a terminal): plain lines, no bar.
    result = askhub(cli_env, "import", "people", str(ORG))
    assert result.returncode == 0, result.stderr
    n = _expected_posts(ORG)
    # stdout is the one summary line it always was.
    assert result.stdout.splitlines() == [
        f"askhub: imported 12 people (12 new, 0 updated), 18 posts added, 0 removed, {n} embedded"
    ]
    lines = result.stderr.splitlines()
    assert lines, "no progress on stderr"
    assert "\r" not in result.stderr  # no terminal bar redrawn into a log
    last = lines[-1]
    assert re.fullmatch(rf"askhub: embedded {n}/{n} posts, [\d,.]+/s, done in \d+ (s|min)", last), (
        last
    )
    # JSON output stays parseable and free of progress.
    routed = askhub(cli_env, "route", "staalbouw", "--json", "--k", "1")
    assert routed.returncode == 0 and json.loads(routed.stdout)["matches"]


def test_progress_speaks_the_terminals_language(cli_env: dict[str, str]) -> None:
    result = askhub_here({**cli_env, "ASKHUB_LANG": "nl"}, "import", "people", str(ORG))
    assert result.returncode == 0, result.stderr
    n = _expected_posts(ORG)
    assert re.search(
        rf"askhub: {n}/{n} berichten ingebed, [\d.,]+/s, klaar in \d+ (s|min)", result.stderr
    )
    # Progress stays on stderr; stdout holds the summary alone, in Dutch too.
    assert "klaar in" not in result.stdout
    assert re.fullmatch(r"askhub: \d+ mensen geïmporteerd \(.*\d+ ingebed\n", result.stdout)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_line_every_few_seconds_with_rate_and_time_left() -> None:
    out = io.StringIO()  # not a terminal
    clock = FakeClock()
    progress = TerminalProgress(out, every=5.0, language="en", clock=clock)
    progress("embed", 0, 36_064)
    clock.now = 2.0
    progress("embed", 256, 36_064)  # too soon after the start: no line
    clock.now = 60.0
    progress("embed", 12_000, 36_064)
    clock.now = 61.0
    progress("embed", 12_256, 36_064)  # too soon after the last line
    clock.now = 200.0
    progress("embed", 36_064, 36_064)  # the end always says so
    # 12,000 in 60 s is 200/s; 24,064 left at 200/s is 120 s, shown as 2 min.
    # The end: 36,064 in 200 s is 180.32/s, shown rounded.
    assert out.getvalue().splitlines() == [
        "askhub: embedded 12,000/36,064 posts, 200/s, about 2 min left",
        "askhub: embedded 36,064/36,064 posts, 180/s, done in 3 min",
    ]


def test_dutch_numbers_and_nothing_to_do_says_nothing() -> None:
    out = io.StringIO()
    clock = FakeClock()
    progress = TerminalProgress(out, every=5.0, language="nl", clock=clock)
    progress("features", 0, 0)
    progress("features", 0, 4_000)
    clock.now = 10.0
    progress("features", 1_500, 4_000)
    # 150/s; 2,500 left is 16.7 s, shown as 17 s.
    assert out.getvalue().splitlines() == [
        "askhub: fit: kenmerken van 1.500/4.000 vragen, 150/s, nog ongeveer 17 s"
    ]


def test_a_terminal_gets_a_bar_with_rate_and_time_left() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    with TerminalProgress(out, language="en") as progress:
        progress("embed", 0, 1_000)
        progress("embed", 1_000, 1_000)
    bar = out.getvalue()
    assert "embedding" in bar and "1000/1000" in bar and "posts/s" in bar
    assert "askhub: embedded" not in bar  # the bar, not the plain lines
