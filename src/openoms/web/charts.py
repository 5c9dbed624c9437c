"""Small SVG charts drawn on the server: grouped bars and lines, with their numbers.

No script, no font download: plain SVG text in the page's font. Each chart is an ``<svg
role="img">`` with a ``<title>`` and a ``<desc>``; the numbers themselves go in a table next
to it (:func:`table`), so that a screen reader, a printout and a copy-paste get them exactly.
A missing value (``None``: the index is not defined, e.g. no customers) draws no bar.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from openoms.web.html import Html, join, render

__all__ = ["Series", "bar_chart", "line_chart", "nice_top", "table"]

_LEFT: Final = 56
_RIGHT: Final = 12
_TOP: Final = 28
_BOTTOM: Final = 64
_HEIGHT: Final = 240


@dataclass(frozen=True, slots=True)
class Series:
    """One series: its name (legend), one value per category, and its colour."""

    name: str
    values: Sequence[float | None]
    colour: str


def nice_top(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``value`` (the y axis' top).

    >>> nice_top(0.0), nice_top(37.0), nice_top(1.2), nice_top(0.031)
    (1.0, 50.0, 2.0, 0.05)
    """
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power * (1 + 1e-9):
            return round(step * power, 12)
    return 10.0 * power  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _frame(title: str, desc: str, width: int, body: Html, legend: Sequence[Series]) -> Html:
    keys = join(
        render(
            '<rect x="$x" y="8" width="10" height="10" fill="$c"/>'
            '<text x="$tx" y="17" font-size="12">$name</text>',
            x=_LEFT + i * 150,
            tx=_LEFT + 14 + i * 150,
            c=s.colour,
            name=s.name,
        )
        for i, s in enumerate(legend)
    )
    return render(
        '<svg class="chart" role="img" aria-labelledby="$id-t $id-d" viewBox="0 0 $w $h"'
        ' width="$w" height="$h" xmlns="http://www.w3.org/2000/svg">'
        '<title id="$id-t">$title</title><desc id="$id-d">$desc</desc>$keys$body</svg>',
        id=_slug(title),
        w=width,
        h=_HEIGHT + _TOP + _BOTTOM,
        title=title,
        desc=desc,
        keys=keys,
        body=body,
    )


def _slug(text: str) -> str:
    """A stable element id for a chart of this title."""
    return f"c{zlib.crc32(text.encode()):08x}"


def _tick(value: float, step: float) -> str:
    """A tick label with as many decimals as the step between ticks needs.

    >>> _tick(99.995, 0.005), _tick(0.5, 0.25), _tick(40.0, 10.0)
    ('99.995', '0.50', '40')
    """
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    if step > 0 and round(step, decimals) != step:
        decimals += 1
    return f"{value:.{decimals}f}"


def _axis(top: float, width: int, low: float = 0.0) -> Html:
    ticks = []
    for i in range(5):
        value = low + (top - low) * i / 4
        y = _TOP + _HEIGHT - _HEIGHT * i / 4
        ticks.append(
            render(
                '<line x1="$l" x2="$r" y1="$y" y2="$y" stroke="#ddd"/>'
                '<text x="$tx" y="$ty" font-size="11" text-anchor="end">$v</text>',
                l=_LEFT,
                r=width - _RIGHT,
                y=f"{y:.1f}",
                tx=_LEFT - 4,
                ty=f"{y + 4:.1f}",
                v=_tick(value, (top - low) / 4),
            )
        )
    return join(ticks)


def _labels(categories: Sequence[str], step: float) -> Html:
    return join(
        render(
            '<text font-size="11" text-anchor="end" transform="translate($x $y) rotate(-40)">'
            "$label</text>",
            x=f"{_LEFT + step * (i + 0.5):.1f}",
            y=_TOP + _HEIGHT + 14,
            label=label if len(label) <= 14 else label[:13] + "…",
        )
        for i, label in enumerate(categories)
    )


def bar_chart(title: str, desc: str, categories: Sequence[str], series: Sequence[Series]) -> Html:
    """Grouped bars: one group per category, one bar per series, from 0."""
    step = max(28.0, 12.0 * len(series) + 14.0)
    width = int(_LEFT + _RIGHT + step * max(len(categories), 1))
    width = max(width, 360)
    step = (width - _LEFT - _RIGHT) / max(len(categories), 1)
    values = [v for s in series for v in s.values if v is not None]
    top = nice_top(max(values, default=0.0))
    bar = max(4.0, (step - 8.0) / max(len(series), 1))
    bars = []
    for i in range(len(categories)):
        for j, s in enumerate(series):
            value = s.values[i]
            if value is None:
                continue
            h = _HEIGHT * max(value, 0.0) / top
            bars.append(
                render(
                    '<rect x="$x" y="$y" width="$w" height="$h" fill="$c"><title>$t</title></rect>',
                    x=f"{_LEFT + step * i + 4 + bar * j:.1f}",
                    y=f"{_TOP + _HEIGHT - h:.1f}",
                    w=f"{bar - 1:.1f}",
                    h=f"{h:.1f}",
                    c=s.colour,
                    t=f"{categories[i]} · {s.name}: {_fmt(value)}",
                )
            )
    body = join([_axis(top, width), join(bars), _labels(categories, step)])
    return _frame(title, desc, width, body, series)


def line_chart(
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    ceiling: float | None = None,
) -> Html:
    """Lines with a dot per value; the y axis spans the values (up to ``ceiling`` if given),
    for figures such as RS-1 that live just under 100 %."""
    width = max(360, int(_LEFT + _RIGHT + 48 * max(len(categories), 1)))
    step = (width - _LEFT - _RIGHT) / max(len(categories), 1)
    values = [v for s in series for v in s.values if v is not None]
    high = ceiling if ceiling is not None else max(values, default=1.0)
    low = min(values, default=0.0)
    span = nice_top(max(high - low, 1e-6))
    low = high - span
    parts = []
    for s in series:
        points = [
            (_LEFT + step * (i + 0.5), _TOP + _HEIGHT - _HEIGHT * (v - low) / span)
            for i, v in enumerate(s.values)
            if v is not None
        ]
        if len(points) > 1:
            parts.append(
                render(
                    '<polyline fill="none" stroke="$c" stroke-width="2" points="$p"/>',
                    c=s.colour,
                    p=" ".join(f"{x:.1f},{y:.1f}" for x, y in points),
                )
            )
        parts += [
            render(
                '<circle cx="$x" cy="$y" r="3" fill="$c"/>', x=f"{x:.1f}", y=f"{y:.1f}", c=s.colour
            )
            for x, y in points
        ]
    body = join([_axis(high, width, low), join(parts), _labels(categories, step)])
    return _frame(title, desc, width, body, series)


def table(
    caption: str, head: Sequence[str], rows: Sequence[Sequence[str]], *, numeric_from: int = 1
) -> Html:
    """A table of the chart's numbers (columns from ``numeric_from`` right-aligned)."""
    header = join(render('<th scope="col">$h</th>', h=h) for h in head)
    body = join(
        render(
            "<tr>$cells</tr>",
            cells=join(
                render('<th scope="row">$v</th>', v=v)
                if i == 0
                else render('<td class="$c">$v</td>', c="num" if i >= numeric_from else "", v=v)
                for i, v in enumerate(row)
            ),
        )
        for row in rows
    )
    return render(
        '<div class="table-wrap"><table><caption>$caption</caption><thead><tr>$header</tr>'
        "</thead><tbody>$body</tbody></table></div>",
        caption=caption,
        header=header,
        body=body,
    )
