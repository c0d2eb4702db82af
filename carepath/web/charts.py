"""Lab charts drawn on the server as SVG: no JavaScript, readable on paper.

A chart is a few series of (instant, value) points against horizontal
threshold lines, each line labelled with what it is and the rule behind it.
Series are told apart by dash pattern and marker as well as colour, so a
black-and-white print still reads. Colours come from the stylesheet
(classes ``s0``..``s3``, ``threshold``), not inline styles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from pathways.clock import zone


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: Sequence[tuple[datetime, float]]


@dataclass(frozen=True, slots=True)
class Threshold:
    value: float
    label: str  # in full: the hover title and the caption under the chart
    short: str = ""  # what fits beside the line (RIGHT px); the label when empty

    @property
    def tag(self) -> str:
        return self.short or self.label


WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 150, 24, 34
MARKERS = ("circle", "square", "diamond", "triangle")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def _fmt(value: float) -> str:
    if value >= 10000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _latest(value: float) -> str:
    """The latest value in the legend: thousands separated, at most 2 decimals."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}".rstrip("0").rstrip(".")


def _marker(kind: str, x: float, y: float, cls: str, title: str) -> str:
    t = f"<title>{escape(title)}</title>"
    if kind == "square":
        return (
            f'<rect class="{cls}" x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6">{t}</rect>'
        )
    if kind == "diamond":
        pts = f"{x:.1f},{y - 4:.1f} {x + 4:.1f},{y:.1f} {x:.1f},{y + 4:.1f} {x - 4:.1f},{y:.1f}"
        return f'<polygon class="{cls}" points="{pts}">{t}</polygon>'
    if kind == "triangle":
        pts = f"{x:.1f},{y - 4:.1f} {x + 4:.1f},{y + 3:.1f} {x - 4:.1f},{y + 3:.1f}"
        return f'<polygon class="{cls}" points="{pts}">{t}</polygon>'
    return f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="3.2">{t}</circle>'


@dataclass(frozen=True, slots=True)
class _Plot:
    """Where a line chart puts an instant and a value: its frame, time span and value scale."""

    start: datetime
    end: datetime
    span: float  # seconds from start to end, at least one
    y_max: float
    local: ZoneInfo
    width: int = WIDTH - LEFT - RIGHT
    height: int = HEIGHT - TOP - BOTTOM

    def x_of(self, at: datetime) -> float:
        return LEFT + self.width * min(max((at - self.start).total_seconds() / self.span, 0.0), 1.0)

    def y_of(self, value: float) -> float:
        return TOP + self.height * (1 - min(max(value / self.y_max, 0.0), 1.0))


def line_chart(
    title: str,
    series: Sequence[Series],
    thresholds: Sequence[Threshold] = (),
    *,
    unit: str,
    start: datetime,
    end: datetime,
    tz: str,
) -> Markup:
    """An SVG line chart of ``series`` between ``start`` and ``end`` (instants)."""
    values = [v for s in series for _, v in s.points] + [t.value for t in thresholds]
    plot = _Plot(
        start=start,
        end=end,
        span=max((end - start).total_seconds(), 1.0),
        y_max=_nice_max(max(values, default=1.0) * 1.1),
        local=zone(tz),
    )
    per_row = (
        2 if len(series) > 2 else max(len(series), 1)
    )  # legends wide enough for the latest value
    rows = max((len(series) + per_row - 1) // per_row, 1)
    label = escape(title)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 14 * (rows - 1)}" role="img" '
        f'aria-label="{label}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{label}</title>",
        f'<text class="chart-title" x="{LEFT}" y="14">{label} ({escape(unit)})</text>',
        *_value_grid(plot),
        *_day_grid(plot),
        f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{plot.width}" height="{plot.height}"/>',
        *_threshold_lines(plot, thresholds),
    ]
    for index, s in enumerate(series):
        parts.extend(_series_lines(plot, s, index, per_row=per_row, unit=unit))
    if not any(s.points for s in series):
        parts.append(
            f'<text class="empty" x="{LEFT + plot.width / 2}" y="{TOP + plot.height / 2}" '
            'text-anchor="middle">no results in this period</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text piece above is escaped)


def _value_grid(plot: _Plot) -> list[str]:
    """Five horizontal grid lines from zero to the top of the scale, each with its value."""
    parts = []
    for i in range(5):
        value = plot.y_max * i / 4
        y = plot.y_of(value)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot.width}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>'
        )
    return parts


def _day_grid(plot: _Plot) -> list[str]:
    """About five vertical lines at local midnights, each with its date."""
    parts = []
    days = max(int(plot.span // 86400), 1)
    step = max(days // 5, 1)
    day = plot.start.astimezone(plot.local).replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= plot.end:
        if day >= plot.start:
            x = plot.x_of(day)
            parts.append(
                f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot.height}"/>'
                f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 16}" text-anchor="middle">'
                f"{day.strftime('%b %d')}</text>"
            )
        day = (day + timedelta(days=step, hours=2)).replace(hour=0)
    return parts


def _threshold_lines(plot: _Plot, thresholds: Sequence[Threshold]) -> list[str]:
    """Each threshold as a line across the plot, its tag beside it and its label on hover."""
    parts = []
    placed: list[float] = []
    for t in sorted(thresholds, key=lambda t: -t.value):
        y = plot.y_of(t.value)
        # Two close lines: the lower label moves down so neither covers the other.
        label_y = max([y + 4, *(p + 12 for p in placed)])
        placed.append(label_y)
        parts.append(
            f'<line class="threshold" x1="{LEFT}" x2="{LEFT + plot.width}" y1="{y:.1f}" y2="{y:.1f}">'
            f"<title>{escape(t.label)}</title></line>"
            f'<text class="threshold-label" x="{LEFT + plot.width + 4}" y="{label_y:.1f}">'
            f"<title>{escape(t.label)}</title>{escape(t.tag)}</text>"
        )
    return parts


def _series_lines(plot: _Plot, s: Series, index: int, *, per_row: int, unit: str) -> list[str]:
    """One series: its line, a marker per point (with its value on hover) and its legend entry."""
    cls = f"s{index % 4}"
    marker = MARKERS[index % 4]
    points = sorted(s.points)
    parts = []
    if len(points) > 1:
        path = " ".join(f"{plot.x_of(at):.1f},{plot.y_of(v):.1f}" for at, v in points)
        parts.append(f'<polyline class="line {cls}" points="{path}"/>')
    for at, v in points:
        when = at.astimezone(plot.local).strftime("%Y-%m-%d %H:%M")
        parts.append(
            _marker(
                marker,
                plot.x_of(at),
                plot.y_of(v),
                f"dot {cls}",
                f"{s.label} {v:g} {unit} at {when}",
            )
        )
    latest = ""
    if points:  # the latest value printed, not only drawn
        at, v = points[-1]
        latest = f" {_latest(v)} ({at.astimezone(plot.local).strftime('%b %d')})"
    lx = LEFT + (index % per_row) * ((WIDTH - LEFT) / per_row)
    ly = TOP + plot.height + 30 + 14 * (index // per_row)
    parts.append(_marker(marker, lx + 4, ly - 4, f"dot {cls}", s.label))
    parts.append(
        f'<text class="legend" x="{lx + 12:.1f}" y="{ly}">{escape(s.label)}{escape(latest)}</text>'
    )
    return parts


# The strip's labels are 11 px (app.css, svg.strip .ph-label): about 6.2 px a character.
LABEL_CHAR_PX = 6.2


def fit_label(text: str, room: float) -> str:
    """``text`` as it fits in ``room`` px of the strip: whole, cut with an ellipsis (the
    full title is the span's tooltip and the events table's), or nothing when too narrow."""
    chars = int(room / LABEL_CHAR_PX)
    if len(text) <= chars:
        return text
    if chars < 4:
        return ""
    cut = text[: chars - 1]
    if " " in cut and text[len(cut)] != " ":  # end on a whole word where one fits
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,") + "…"


def phase_strip(
    spans: Sequence[tuple[str, str, datetime, datetime | None]], *, now: datetime, tz: str
) -> Markup:
    """The phases a patient went through as one horizontal strip: (phase, title, start, end)."""
    if not spans:
        return Markup("")
    width, height, left, right = 900, 58, 4, 4
    start = spans[0][2]
    span = max((now - start).total_seconds(), 1.0)
    usable = width - left - right

    def x_of(at: datetime) -> float:
        return left + usable * min(max((at - start).total_seconds() / span, 0.0), 1.0)

    local = zone(tz)
    last_tick = -100.0
    parts = [
        f'<svg class="strip" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="Timeline of phases" xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, (phase, title, begin, end) in enumerate(spans):
        x0, x1 = x_of(begin), x_of(end or now)
        w = max(x1 - x0, 2.0)
        when = f"{begin.astimezone(local):%Y-%m-%d} → " + (
            f"{end.astimezone(local):%Y-%m-%d}" if end else "now"
        )
        parts.append(
            f'<rect class="ph ph-{escape(phase)} ph{index % 2}" x="{x0:.1f}" y="6" '
            f'width="{w:.1f}" height="24"><title>{escape(title)}: {when}</title></rect>'
        )
        label = fit_label(title, w - 8)
        if label:
            parts.append(f'<text class="ph-label" x="{x0 + 4:.1f}" y="22">{escape(label)}</text>')
        if x0 - last_tick >= 48:
            parts.append(
                f'<text class="tick" x="{x0:.1f}" y="46">{begin.astimezone(local):%b %d}</text>'
            )
            last_tick = x0
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text piece above is escaped)


@dataclass(frozen=True, slots=True)
class RatePoint:
    """One bar of a rate chart: a month (or any label) with its numerator and denominator."""

    label: str
    numerator: int
    denominator: int
    # False when computed live rather than read from a stored (frozen) snapshot.
    frozen: bool = True

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.0f}%"


def rate_chart(title: str, points: Sequence[RatePoint], *, target: float | None = None) -> Markup:
    """Vertical bars of a rate per period (0-100 %), each labelled with its numerator/denominator.

    Bars computed live (not from a stored snapshot) are drawn outlined, so a
    printout shows which figures may still change.
    """
    width, height = 640, 200
    left, right, top, bottom = 40, 12, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    label = escape(title)
    parts = [
        f'<svg class="chart rate" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{label}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{label}</title>",
        f'<text class="chart-title" x="{left}" y="14">{label}</text>',
    ]
    for pct in (0, 50, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{pct}%</text>'
        )
    if target is not None:
        y = top + plot_h * (1 - target)
        parts.append(
            f'<line class="target" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}">'
            f"<title>target {_pct(target)}</title></line>"
        )
    n = max(len(points), 1)
    slot = plot_w / n
    bar = min(slot * 0.7, 48)
    for index, point in enumerate(points):
        x = left + slot * index + (slot - bar) / 2
        rate = point.rate
        words = f"{point.label}: {_pct(rate)} ({point.numerator}/{point.denominator})"
        if not point.frozen:
            words += ", live"
        if rate is not None:
            h = plot_h * rate
            cls = "bar" if point.frozen else "bar live"
            parts.append(
                f'<rect class="{cls}" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{max(h, 0.5):.1f}"><title>{escape(words)}</title></rect>'
            )
        parts.append(
            f'<text class="bar-value" x="{x + bar / 2:.1f}" y="{top + plot_h - (plot_h * (rate or 0)) - 3:.1f}" '
            f'text-anchor="middle">{escape(_pct(rate))}</text>'
            f'<text class="tick" x="{x + bar / 2:.1f}" y="{height - 24}" text-anchor="middle">'
            f"{escape(point.label)}</text>"
            f'<text class="tick" x="{x + bar / 2:.1f}" y="{height - 10}" text-anchor="middle">'
            f"{point.numerator}/{point.denominator}</text>"
        )
    if not points:
        parts.append(
            f'<text class="empty" x="{left + plot_w / 2}" y="{top + plot_h / 2}" '
            'text-anchor="middle">no periods</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text piece above is escaped)


def rate_bars(title: str, rows: Sequence[tuple[str, float | None, str, float | None]]) -> Markup:
    """Horizontal bars, one per row: (label, rate, figures text, target)."""
    width, row_h, left, right, top = 640, 18, 96, 90, 22
    height = top + row_h * max(len(rows), 1) + 8
    plot_w = width - left - right
    label = escape(title)
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{label}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{label}</title>",
        f'<text class="chart-title" x="0" y="14">{label}</text>',
    ]
    for index, (name, rate, figures, target) in enumerate(rows):
        y = top + index * row_h
        words = escape(f"{name}: {_pct(rate)} ({figures})")
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(name)}</text>'
            f'<rect class="track" x="{left}" y="{y + 3}" width="{plot_w}" height="{row_h - 6}"/>'
        )
        if rate is not None:
            parts.append(
                f'<rect class="bar" x="{left}" y="{y + 3}" width="{plot_w * rate:.1f}" '
                f'height="{row_h - 6}"><title>{words}</title></rect>'
            )
        if target is not None:
            tx = left + plot_w * target
            parts.append(
                f'<line class="target" x1="{tx:.1f}" x2="{tx:.1f}" y1="{y + 1}" y2="{y + row_h - 1}">'
                f"<title>target {_pct(target)}</title></line>"
            )
        parts.append(
            f'<text class="bar-value" x="{left + plot_w + 6}" y="{y + 12}">'
            f"{escape(_pct(rate))} {escape(figures)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text piece above is escaped)
