"""Charts as SVG with matplotlib's object API (no pyplot: no global figure state in a server),
text kept as text (`svg.fonttype: none`): the labels stay
searchable and selectable in the page and in the PDF, and a CJK font of the reader's machine
(or WeasyPrint's, fonts-noto-cjk) draws the Chinese."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure

FONTS = ["Noto Sans CJK SC", "WenQuanYi Zen Hei", "Source Han Sans SC", "Microsoft YaHei", "sans-serif"]
STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": FONTS,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "kefu",  # the same data draws the same SVG: issued revisions compare byte for byte
}
BAR = "#2f6f9f"
LINE = "#c0392b"


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]  # inline in the page: no XML declaration or doctype


def pareto(rows: Sequence[dict[str, Any]], title: str, labels: dict[str, str] | None = None) -> str:
    """Bars largest first with the cumulative share as a line on a second axis (0-100 %)."""
    with rc_context(STYLE):
        fig = Figure(figsize=(7, 3.2))
        ax = fig.subplots()
        keys = [(labels or {}).get(r["key"], r["key"]) or "—" for r in rows]
        ax.bar(keys, [r["count"] for r in rows], color=BAR)
        ax.set_title(title)
        ax.tick_params(axis="x", labelrotation=30)
        share = ax.twinx()
        share.plot(keys, [100 * r["cumulative"] for r in rows], color=LINE, marker="o")
        share.set_ylim(0, 105)
        share.set_ylabel("%")
        share.axhline(80, color=LINE, linewidth=0.6, linestyle=":")
        return _svg(fig)


def control_chart(months: Sequence[dict[str, Any]], centre: float, upper: float, lower: float, title: str) -> str:
    """Counts per month with the c-chart's centre line and limits; months above the limit marked."""
    with rc_context(STYLE):
        fig = Figure(figsize=(7, 3))
        ax = fig.subplots()
        x = [m["month"] for m in months]
        y = [m["count"] for m in months]
        ax.plot(x, y, color=BAR, marker="o")
        high = [(m["month"], m["count"]) for m in months if m["above_limit"]]
        if high:
            ax.scatter([h[0] for h in high], [h[1] for h in high], color=LINE, zorder=3, s=40)
        for value, style, name in ((centre, "-", "CL"), (upper, "--", "UCL"), (lower, "--", "LCL")):
            ax.axhline(value, color="#777777", linewidth=0.8, linestyle=style)
            ax.annotate(f"{name} {value:g}", (len(x) - 1, value), fontsize=7, va="bottom", ha="right")
        ax.set_title(title)
        ax.tick_params(axis="x", labelrotation=45)
        ax.set_ylim(bottom=0)
        return _svg(fig)


def bars(rows: Sequence[dict[str, Any]], title: str, labels: dict[str, str] | None = None) -> str:
    with rc_context(STYLE):
        fig = Figure(figsize=(7, 0.35 * max(len(rows), 3) + 0.8))
        ax = fig.subplots()
        keys = [(labels or {}).get(r["key"], r["key"]) or "—" for r in rows][::-1]
        ax.barh(keys, [r["count"] for r in rows][::-1], color=BAR)
        ax.set_title(title)
        return _svg(fig)


def curves(rows: Sequence[dict[str, Any]], title: str, unit: str) -> str:
    """The cumulative months-in-service curve of each part (failures per thousand units)."""
    with rc_context(STYLE):
        fig = Figure(figsize=(7, 3))
        ax = fig.subplots()
        parts: dict[str, list[tuple[int, float]]] = {}
        for r in rows:
            if r["cumulative_per_thousand"] is not None:
                parts.setdefault(r["part_number"], []).append((r["months_in_service"], r["cumulative_per_thousand"]))
        for part, points in parts.items():
            ax.plot([m for m, _ in points], [v for _, v in points], marker=".", label=part)
        if parts:
            ax.legend(fontsize=7)
        ax.set_title(title)
        ax.set_xlabel(unit)
        ax.set_ylim(bottom=0)
        return _svg(fig)
