"""Server-side SVG charts (bars and lines) with Thai labels, no JavaScript.

The same markup goes into the web page and the PDF. Values are Decimal scores 0–100;
coordinates are computed in Decimal and printed with one decimal place."""

from dataclasses import dataclass
from decimal import Decimal
from html import escape

from ita_portal.thai import format_score, thai_digits

PALETTE = ["#1f4e79", "#c0504d", "#4f8f3a", "#8064a2", "#d9822b"]
FONT = "Sarabun"


@dataclass(frozen=True)
class Series:
    name: str
    values: list  # one Decimal (or None) per label


def _n(value):
    return f"{Decimal(value):.1f}"


def _text(x, y, text, *, size=12, anchor="middle", weight="normal", fill="#000"):
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-family="{FONT}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill="{fill}">{escape(str(text))}</text>'
    )


def _frame(width, height, body, title):
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">{"".join(body)}</svg>'
    )


def _axis(left, top, plot_w, plot_h, lowest, digits):
    body = []
    steps = 5
    span = Decimal(100) - lowest
    for i in range(steps + 1):
        value = lowest + span * i / steps
        y = top + plot_h - plot_h * i / steps
        body.append(f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}" stroke="#ccc" stroke-width="0.6"/>')
        label = f"{value:.0f}"
        body.append(_text(left - 6, y + 5, thai_digits(label) if digits == "thai" else label, size=14, anchor="end"))
    return body


def _y(value, lowest, top, plot_h):
    return top + plot_h - plot_h * (Decimal(value) - lowest) / (Decimal(100) - lowest)


def bar_chart(labels, series, *, title="", width=640, height=290, lowest=Decimal(0), digits="thai"):
    """Grouped vertical bars: one group per label, one bar per series, the value above each bar."""
    left, top, right, bottom = 50, 40 if title else 18, 10, 56 if len(series) > 1 else 38
    plot_w, plot_h = width - left - right, height - top - bottom
    body = []
    if title:
        body.append(_text(width / 2, 20, title, size=17, weight="bold"))
    body += _axis(left, top, plot_w, plot_h, lowest, digits)
    group_w = Decimal(plot_w) / max(len(labels), 1)
    bar_w = group_w * Decimal("0.7") / max(len(series), 1)
    for g, label in enumerate(labels):
        x0 = left + group_w * g + group_w * Decimal("0.15")
        for s, serie in enumerate(series):
            value = serie.values[g]
            if value is None:
                continue
            x = x0 + bar_w * s
            y = _y(max(Decimal(value), lowest), lowest, top, plot_h)
            colour = PALETTE[s % len(PALETTE)]
            body.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(bar_w * Decimal("0.92"))}" '
                f'height="{_n(top + plot_h - y)}" fill="{colour}"/>'
            )
            # Narrow bars (many years × tools) get smaller value labels so neighbours do not overlap.
            size = 14 if bar_w >= 46 else 11 if bar_w >= 34 else 9
            body.append(_text(x + bar_w * Decimal("0.46"), y - 4, format_score(value, digits=digits), size=size))
        body.append(_text(left + group_w * g + group_w / 2, top + plot_h + 20, label, size=15))
    if len(series) > 1:
        body += _legend(series, left, height - 10)
    return _frame(width, height, body, title)


def line_chart(labels, series, *, title="", width=640, height=250, lowest=Decimal(50), digits="thai"):
    """One line per series across the labels (e.g. fiscal years); missing values break the line."""
    left, top, right, bottom = 50, 40 if title else 18, 20, 56 if len(series) > 1 else 38
    plot_w, plot_h = width - left - right, height - top - bottom
    body = []
    if title:
        body.append(_text(width / 2, 20, title, size=17, weight="bold"))
    body += _axis(left, top, plot_w, plot_h, lowest, digits)
    step = Decimal(plot_w) / max(len(labels), 1)
    xs = [left + step * i + step / 2 for i in range(len(labels))]
    for i, label in enumerate(labels):
        body.append(_text(xs[i], top + plot_h + 20, label, size=15))
    for s, serie in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        points = []
        for i, value in enumerate(serie.values):
            if value is None:
                if len(points) > 1:
                    body.append(_polyline(points, colour))
                points = []
                continue
            y = _y(max(Decimal(value), lowest), lowest, top, plot_h)
            points.append((xs[i], y))
            body.append(f'<circle cx="{_n(xs[i])}" cy="{_n(y)}" r="3" fill="{colour}"/>')
            body.append(_text(xs[i], y - 8, format_score(value, digits=digits), size=14, fill=colour))
        if len(points) > 1:
            body.append(_polyline(points, colour))
    if len(series) > 1:
        body += _legend(series, left, height - 10)
    return _frame(width, height, body, title)


def _polyline(points, colour):
    coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'


def _legend(series, left, y):
    body, x = [], Decimal(left)
    for s, serie in enumerate(series):
        body.append(f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"/>')
        body.append(_text(x + 14, y, serie.name, size=14, anchor="start"))
        x += 14 + 10 * len(serie.name) + 20
    return body
