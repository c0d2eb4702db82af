"""The adherence report as JSON, CSV, a terminal table and one self-contained HTML file.

The HTML file carries its stylesheet and its SVG charts inline and refers to
nothing outside itself (no script, no font, no image, no link to the app), so
it can be mailed, archived and printed as it is. It holds figures only: no
patient names or record numbers (those are behind the audited drill-down).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from carepath.web.charts import RatePoint, rate_bars, rate_chart
from models.repositories.adherence import AdherenceReport, Counts, IndicatorResult
from pathways.clock import months, zone
from pathways.definition import Definition
from pathways.engine import CONDITIONS, Indicator

FORMAT = "carepath.adherence/1"
FIGURES = ("numerator", "denominator", "rate", "excused", "late", "early", "missed", "pending",
           "skipped")  # fmt: skip
UNIT_WORDS = {
    "task": "planned task",
    "episode": "patient-episode",
    "course": "regimen start",
    "dose": "dose given",
}

_ENV = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _defaults(ind: Indicator, definition: Definition) -> list[dict[str, Any]]:
    out = []
    for name in ind.defaults:
        setting = definition.defaults[name]
        out.append(
            {
                "name": name,
                "value": setting.value,
                "unit": setting.unit,
                "local_policy": setting.is_local_policy,
                "overridden": setting.overridden,
            }
        )
    return out


def indicator_json(result: IndicatorResult, definition: Definition) -> dict[str, Any]:
    ind = result.indicator
    data: dict[str, Any] = {
        "id": ind.id,
        "title": ind.title,
        "unit": ind.unit,
        "optional": ind.optional,
        "computable": ind.computable,
        "rule_ids": list(ind.rule_ids),
        "target": ind.target,
    }
    if result.counts is None:
        data |= {name: None for name in FIGURES} | {"reason": ind.reason}
    else:
        counts = result.counts.as_dict()
        data |= {name: counts[name] for name in FIGURES}
    data |= {
        "numerator_text": ind.numerator.text,
        "denominator_text": ind.denominator.text,
        "exclusions": [{"id": name, "text": CONDITIONS[name].text} for name in ind.exclusions],
        "window": {"text": ind.window.text, "kind": ind.window.kind},
        "defaults": _defaults(ind, definition),
        "by_regimen": [
            {"regimen": key or None} | value.as_dict() for key, value in result.by_regimen.items()
        ],
        "by_month": [{"month": key} | value.as_dict() for key, value in result.by_month.items()],
    }
    return data


def report_json(report: AdherenceReport, definition: Definition) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "pathway": {"name": report.pathway_name, "version": report.pathway_version},
        "period": {"from": report.start.isoformat(), "to": report.end.isoformat()},
        "as_of": report.as_of.isoformat(),
        "timezone": report.timezone,
        "classes": {
            "numerator": "on time (in the window)",
            "denominator": "on time + late + early + missed",
            "excused": "cancelled because no longer applicable, or held with a documented reason",
            "pending": "the window has not closed yet",
        },
        "indicators": [indicator_json(r, definition) for r in report.results],
    }


def report_csv(report: AdherenceReport) -> str:
    """One row per indicator, then one per indicator and regimen, and per indicator and month."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["indicator", "title", "scope", "key", *FIGURES, "rule_ids", "computable", "reason"]
    )

    def row(ind: Indicator, scope: str, key: str, counts: Counts | None) -> None:
        figures = [""] * len(FIGURES)
        if counts is not None:
            values = counts.as_dict()
            figures = [
                "" if values[f] is None else (f"{values[f]:.4f}" if f == "rate" else values[f])
                for f in FIGURES
            ]
        writer.writerow(
            [
                ind.id,
                ind.title,
                scope,
                key,
                *figures,
                " ".join(ind.rule_ids),
                "yes" if ind.computable else "no",
                ind.reason or "",
            ]
        )

    for result in report.results:
        row(result.indicator, "total", f"{report.start}..{report.end}", result.counts)
    for result in report.results:
        for key, counts in result.by_regimen.items():
            row(result.indicator, "regimen", key or "(none)", counts)
        for key, counts in result.by_month.items():
            row(result.indicator, "month", key, counts)
    return out.getvalue()


def months_between(report: AdherenceReport) -> list[str]:
    return [f"{first:%Y-%m}" for first, _ in months(report.start, report.end)]


def live_trend(report: AdherenceReport, result: IndicatorResult) -> list[RatePoint]:
    """One point per month of the period, computed now (not from snapshots)."""
    return [
        RatePoint(
            label=month,
            numerator=result.by_month.get(month, Counts()).numerator,
            denominator=result.by_month.get(month, Counts()).denominator,
            frozen=False,
        )
        for month in months_between(report)
    ]


def summary_chart(report: AdherenceReport) -> Any:
    rows = [
        (
            r.indicator.id,
            r.counts.rate,
            f"{r.counts.numerator}/{r.counts.denominator}",
            r.indicator.target,
        )
        for r in report.results
        if r.counts is not None
    ]
    return rate_bars("Adherence rate per indicator", rows)


def report_html(
    report: AdherenceReport,
    definition: Definition,
    *,
    trends: Mapping[str, Sequence[RatePoint]] | None = None,
) -> str:
    """The whole report as one HTML document with inline CSS and SVG (nothing fetched)."""
    local = zone(report.timezone)
    sections = []
    for result in report.results:
        points = (trends or {}).get(result.indicator.id) or live_trend(report, result)
        sections.append(
            {
                "result": result,
                "data": indicator_json(result, definition),
                "chart": None
                if result.counts is None
                else rate_chart(
                    f"{result.indicator.id} by month", points, target=result.indicator.target
                ),
            }
        )
    template = _ENV.get_template("adherence.html")
    return template.render(
        report=report,
        sections=sections,
        summary=summary_chart(report),
        as_of=report.as_of.astimezone(local).strftime("%Y-%m-%d %H:%M %Z"),
        pct=pct,
        units=UNIT_WORDS,
    )


def table_rows(report: AdherenceReport) -> list[list[str]]:
    rows = []
    for r in report.results:
        ind = r.indicator
        if r.counts is None:
            rows.append([ind.id, ind.title, "not computable", "", "", "", "", ""])
            continue
        c = r.counts
        rows.append(
            [
                ind.id,
                ind.title,
                f"{c.numerator}/{c.denominator}",
                pct(c.rate),
                str(c.excused),
                str(c.late + c.early),
                str(c.missed),
                str(c.pending),
            ]
        )
    return rows
