"""The dashboard's turnout charts: bar geometry for inline SVG, computed here because the
page runs no script (and the CSP allows no inline style).

The counts come from :func:`web.turnout.turnout`, bucketed by day, or by hour over the last
72 hours, in the election's time zone (:func:`web.i18n.election_zone`); empty buckets
between the first and the last ballot are shown as zero.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bulletin.board import Board
from e2e.manifest import Manifest
from web.i18n import election_zone
from web.turnout import turnout

CHART_W, CHART_H = 600, 120
HOURS = 72  # the hourly chart's window, up to the latest ballot


def turnout_charts(board: Board, manifest: Manifest, by: str) -> dict[str, Any]:
    """Bucket labels and, per contest, the values, their total and top, and one bar each.

    ``by`` is ``"day"`` or ``"hour"``."""
    per = turnout(board, election_zone(manifest), by)
    if not per:
        return {"buckets": [], "charts": []}
    step = timedelta(hours=1) if by == "hour" else timedelta(days=1)
    first = min(t for t, _ in per)
    last = max(t for t, _ in per)
    if by == "hour":
        first = max(first, last - timedelta(hours=HOURS - 1))
    buckets = []
    t = first
    while t <= last:
        buckets.append(t)
        t = t + step
    fmt = "%m/%d %H:00" if by == "hour" else "%Y-%m-%d"
    labels = [b.strftime(fmt) for b in buckets]
    charts = []
    bar_w = CHART_W / len(buckets)
    for ci, contest in enumerate(manifest.contests, start=1):
        values = [per.get((b, ci), 0) for b in buckets]
        top = max(values) or 1
        bars = []
        for i, (label, v) in enumerate(zip(labels, values, strict=True)):
            h = round(CHART_H * v / top, 1)
            bars.append(
                {
                    "x": round(i * bar_w + bar_w * 0.1, 2),
                    "y": round(CHART_H - h, 1),
                    "w": round(bar_w * 0.8, 2),
                    "h": h,
                    "label": label,
                    "n": v,
                }
            )
        charts.append(
            {
                "contest": contest,
                "values": values,
                "total": sum(values),
                "top": max(values),
                "bars": bars,
            }
        )
    return {"buckets": labels, "charts": charts, "width": CHART_W, "height": CHART_H}
