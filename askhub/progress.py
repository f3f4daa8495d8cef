"""Progress of long CLI work (imports, index builds, fits, evaluations), on stderr only.

On a terminal each stage is a tqdm bar with its rate and the time left; otherwise (a log, a
pipe, cron) a plain line when a stage has run another ``every`` seconds and when it ends, e.g.
``askhub: embedded 12,000/36,064 posts, 170/s, about 2 min left``. stdout is never written: it
carries the commands' results (``--json``) for scripts. The work itself only calls an
:class:`indexer.progress.Progress` with a stage key; the words are chosen here, in the
terminal's language.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from babel.numbers import format_decimal
from tqdm import tqdm

from askhub.i18n import N_, environment_language, translator

# Per stage key (indexer.progress.Progress): the plain line and the bar's label and unit.
LINES = {
    "embed": N_("embedded {done}/{total} posts"),
    "features": N_("fit: features of {done}/{total} questions"),
    "rank": N_("ranked {done}/{total} test questions"),
    "baselines": N_("ran {done}/{total} baselines"),
}
BARS = {
    "embed": (N_("embedding"), N_("posts")),
    "features": (N_("fit: features"), N_("questions")),
    "rank": (N_("ranking"), N_("questions")),
    "baselines": (N_("baselines"), N_("baselines")),
}


class TerminalProgress:
    """A :class:`indexer.progress.Progress` that shows itself on ``stream`` (default stderr):
    bars when it is a terminal, else a line per ``every`` seconds and one at each stage's end.
    Use it as a context manager so bars left open (work that failed) are closed."""

    def __init__(
        self,
        stream: TextIO | None = None,
        every: float = 5.0,
        language: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.language = language or environment_language()
        self.t = translator(self.language)
        self.clock = clock
        isatty = getattr(self.stream, "isatty", None)
        self.bars_on = bool(isatty and isatty())
        self._bars: dict[str, Any] = {}
        # Per stage: when and at which count it started, and when its last line was written.
        self._started: dict[str, tuple[float, int]] = {}
        self._last_line: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.bars_on:
            self._bar(stage, done, total)
        else:
            self._line(stage, done, total)

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()

    def _bar(self, stage: str, done: int, total: int) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            label, unit = BARS.get(stage, (stage, ""))
            bar = tqdm(
                total=total,
                desc=self.t(label) if label != stage else stage,
                unit=" " + self.t(unit) if unit else "it",
                file=self.stream,
                dynamic_ncols=True,
                leave=True,
            )
            self._bars[stage] = bar
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            del self._bars[stage]

    def _line(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        started_at, first = self._started.setdefault(stage, (now, done))
        ended = done >= total
        if total <= 0 or done <= first:
            # The start (or nothing to do): a line says how fast it goes, not yet known.
            if ended:
                self._finish(stage)
            return
        if not ended and now - self._last_line.get(stage, started_at) < self.every:
            return
        self._last_line[stage] = now
        elapsed = max(now - started_at, 1e-9)
        rate = (done - first) / elapsed
        line = self.t(LINES[stage]) if stage in LINES else "{stage} {done}/{total}"
        text = line.format(stage=stage, done=self._number(done), total=self._number(total))
        text += ", " + self.t("{rate}/s", rate=self._number(rate))
        if ended:
            text += ", " + self.t("done in {elapsed}", elapsed=self._duration(elapsed))
            self._finish(stage)
        else:
            left = (total - done) / rate
            text += ", " + self.t("about {left} left", left=self._duration(left))
        print(f"askhub: {text}", file=self.stream, flush=True)

    def _finish(self, stage: str) -> None:
        self._started.pop(stage, None)
        self._last_line.pop(stage, None)

    def _number(self, value: float) -> str:
        pattern = "#,##0" if value >= 10 or float(value).is_integer() else "#,##0.#"
        return str(format_decimal(value, format=pattern, locale=self.language))

    def _duration(self, seconds: float) -> str:
        if seconds < 90:
            return self.t("{n} s", n=max(1, round(seconds)))
        if seconds < 90 * 60:
            return self.t("{n} min", n=round(seconds / 60))
        return self.t("{n} h", n=self._number(round(seconds / 3600, 1)))
