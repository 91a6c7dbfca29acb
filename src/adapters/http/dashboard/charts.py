"""Quality charts drawn on the server as SVG: no script, no library, readable by screen readers."""

from __future__ import annotations

from markupsafe import Markup, escape

from app.quality_trends import WabaTrend
from domain.status import TemplateQuality

# Drawn bottom to top; the colours match the page's legend (dashboard.css).
STACK = (TemplateQuality.GREEN, TemplateQuality.YELLOW, TemplateQuality.RED, TemplateQuality.UNKNOWN)
_FILL = {
    TemplateQuality.GREEN: "#2e7d32",
    TemplateQuality.YELLOW: "#f9a825",
    TemplateQuality.RED: "#c62828",
    TemplateQuality.UNKNOWN: "#9e9e9e",
}
_LABEL = {0: "now", 7: "7 days ago", 30: "30 days ago"}
_WIDTH, _HEIGHT, _BAR, _GAP, _TOP, _BOTTOM = 360, 200, 70, 40, 16, 28


def quality_chart(trend: WabaTrend) -> Markup:
    """Stacked bars of GREEN / YELLOW / RED / UNKNOWN counts: 30 days ago, 7 days ago, now."""
    points = sorted(trend.points, key=lambda p: -p.days_ago)
    tallest = max((p.total for p in points), default=0) or 1
    usable = _HEIGHT - _TOP - _BOTTOM
    waba = str(escape(trend.waba_id))
    summary = str(escape("; ".join(_describe(p.days_ago, p.counts) for p in points)))
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {_WIDTH} {_HEIGHT}" width="{_WIDTH}" height="{_HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-labelledby="chart-{waba}">',
        # Escaped above and joined as plain text: adding Markup to a str would escape the tags.
        f'<title id="chart-{waba}">Template quality of WABA {waba}: {summary}</title>',
    ]
    for index, point in enumerate(points):
        x = _GAP + index * (_BAR + _GAP)
        y: float = _TOP + usable
        for quality in STACK:
            count = point.counts.get(quality, 0)
            if not count:
                continue
            height = usable * count / tallest
            y -= height
            parts.append(
                f'<rect x="{x}" y="{y:.1f}" width="{_BAR}" height="{height:.1f}" fill="{_FILL[quality]}">'
                f"<title>{quality.value}: {count}</title></rect>"
            )
        parts.append(
            f'<text x="{x + _BAR / 2}" y="{_HEIGHT - 8}" text-anchor="middle" font-size="12">'
            f"{_LABEL.get(point.days_ago, f'{point.days_ago} d')}</text>"
        )
        parts.append(
            f'<text x="{x + _BAR / 2}" y="{y - 4:.1f}" text-anchor="middle" font-size="12">'
            f"{point.total}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text above is escaped or a number


def _describe(days_ago: int, counts: dict[TemplateQuality, int]) -> str:
    shown = ", ".join(f"{counts.get(q, 0)} {q.value}" for q in STACK)
    return f"{_LABEL.get(days_ago, f'{days_ago} days ago')}: {shown}"
