"""Charts as server-rendered SVG: no script, no library, styled by classes in askhub.css (the
Content-Security-Policy allows no inline styles). Each chart has a title and a description
for screen readers, and scales with its box (viewBox)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 6, 10, 44


def _nice(top: float) -> float:
    """A round upper bound for the axis (1, 2, 2.5 or 5 times a power of ten)."""
    if top <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(top))
    return float(next(magnitude * f for f in (1, 2, 2.5, 5, 10) if magnitude * f >= top))


def _label(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:g}" if value != int(value) else str(int(value))


def bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    percent: bool = False,
    ident: str = "chart",
) -> Markup:
    """Grouped vertical bars: one group per label, one bar per series (at most three)."""
    top = _nice(max((v for _, values in series for v in values), default=0.0))
    if percent:
        top = 1.0
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    groups = max(len(labels), 1)
    slot = inner_w / groups
    bar = max(min(slot * 0.8 / max(len(series), 1), 48.0), 1.0)
    parts = [
        f'<svg class="chart" id="{escape(ident)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(ident)}-title {escape(ident)}-desc" '
        f'preserveAspectRatio="xMidYMid meet">',
        f'<title id="{escape(ident)}-title">{escape(title)}</title>',
    ]
    desc = "; ".join(
        f"{name}: "
        + ", ".join(f"{lab} {_label(v, percent)}" for lab, v in zip(labels, values, strict=False))
        for name, values in series
    )
    parts.append(f'<desc id="{escape(ident)}-desc">{escape(desc)}</desc>')
    for step in range(5):
        value = top * step / 4
        y = TOP + inner_h - inner_h * step / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_label(value, percent))}</text>"
        )
    every = max(1, round(groups / 6))
    for i, label in enumerate(labels):
        x0 = LEFT + slot * i + (slot - bar * len(series)) / 2
        for j, (_, values) in enumerate(series):
            value = values[i] if i < len(values) else 0.0
            h = inner_h * min(value / top, 1.0) if top else 0.0
            parts.append(
                f'<rect class="bar s{j}" x="{x0 + bar * j:.1f}" y="{TOP + inner_h - h:.1f}" '
                f'width="{bar * 0.92:.1f}" height="{h:.1f}"><title>{escape(label)}: '
                f"{escape(_label(value, percent))}</title></rect>"
            )
        if i % every == 0:
            cx = LEFT + slot * i + slot / 2
            parts.append(
                f'<text class="axis" x="{cx:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    legend_x = LEFT
    for j, (name, _) in enumerate(series):
        parts.append(
            f'<rect class="bar s{j}" x="{legend_x}" y="{HEIGHT - 14}" width="10" height="10"/>'
            f'<text class="axis" x="{legend_x + 14}" y="{HEIGHT - 5}">{escape(name)}</text>'
        )
        legend_x += 14 + 7 * len(name) + 16
    parts.append("</svg>")
    return Markup("".join(parts))
