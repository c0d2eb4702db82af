"""The adherence dashboard (quality, clinician, admin): figures, trends, and the patients behind them.

The dashboard computes every indicator for the chosen period; its trend charts
read the stored monthly snapshots (frozen: later edits do not move them) and
fall back, for a month without one, to the live figure, drawn outlined. Every
number links to its drill-down, which lists the patients and tasks behind it
and is an audited read of patient data. The export is the same self-contained
HTML file (or CSV, JSON) that `carepath report adherence` writes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from carepath.pathway import definition_for
from carepath.reports.adherence import (
    UNIT_WORDS,
    live_trend,
    months_between,
    pct,
    report_csv,
    report_html,
    report_json,
    summary_chart,
)
from carepath.web.charts import RatePoint, rate_chart
from carepath.web.deps import DB, READERS, actor_of, allow, clinic_date, now, settings
from carepath.web.templating import render
from models.ops import AdherenceSnapshot
from models.repositories.adherence import (
    SHOWS,
    AdherenceReport,
    IndicatorResult,
    compute_report,
    drill_down,
    prepare,
    read_report,
    snapshots_between,
)
from models.repositories.users import Principal
from pathways.clock import month_of
from pathways.definition import Definition
from pathways.engine import CONDITIONS, Indicator, indicators_of
from pathways.vocab import Role

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Principal, allow(Role.QUALITY, Role.CLINICIAN, Role.ADMIN)]
PAGE_SIZE = 100
DEFAULT_MONTHS = 6
EXPORTS = {
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
# The export file is opened on its own: it may use its inline stylesheet and nothing else.
EXPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"


def _period(request: Request) -> tuple[date, date, dict[str, str]]:
    """The period of the query string (default: the last six months to today) and its problems."""
    params = request.query_params
    today = clinic_date(request)
    start, end = month_of(today, DEFAULT_MONTHS - 1)[0], today
    problems: dict[str, str] = {}
    for name in ("from", "to"):
        value = params.get(name)
        if not value:
            continue
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            problems[name] = "must be a date, YYYY-MM-DD"
            continue
        if name == "from":
            start = parsed
        else:
            end = parsed
    if end < start:
        problems["to"] = "the period ends before it starts"
        start, end = end, start
    if (end - start).days > 3 * 366:
        problems["from"] = "at most three years at a time"
        start = end - timedelta(days=3 * 366)
    return start, end, problems


@dataclass(frozen=True, slots=True)
class SnapshotNote:
    """A month whose stored (frozen) snapshot differs from what today's records count."""

    month: str
    stored: tuple[int, int]
    stored_on: date
    live: tuple[int, int]
    partial: bool  # the period holds only part of the month

    def text(self) -> str:
        why = (
            "the snapshot counts the whole month, the period only part of it"
            if self.partial
            else "records changed after it was stored (a task done late, excused or cancelled since)"
        )
        return (
            f"{self.month}: the chart shows the snapshot stored on {self.stored_on}, "
            f"{self.stored[0]}/{self.stored[1]}; today's records count "
            f"{self.live[0]}/{self.live[1]} — {why}. Snapshots are frozen on purpose: "
            "the trend does not move with later edits; the figures and tables count today's records."
        )


def _trends(
    session: Session, report: AdherenceReport
) -> tuple[dict[str, list[RatePoint]], dict[str, list[SnapshotNote]]]:
    """Per indicator, one point per month (the stored snapshot where there is one, else live),
    and the months whose snapshot differs from the live figure the tables show."""
    stored: dict[tuple[str, str], AdherenceSnapshot] = {
        (snap.indicator_id, f"{snap.period_start:%Y-%m}"): snap
        for snap in snapshots_between(session, start=month_of(report.start)[0], end=report.end)
        if (snap.period_start, snap.period_end) == month_of(snap.period_start)
    }
    months = months_between(report)
    trends: dict[str, list[RatePoint]] = {}
    notes: dict[str, list[SnapshotNote]] = {}
    for result in report.results:
        if result.counts is None:
            continue
        live = {p.label: p for p in live_trend(report, result)}
        points = []
        for month in months:
            snap = stored.get((result.indicator.id, month))
            if snap is None:
                points.append(live[month])
                continue
            points.append(RatePoint(month, snap.numerator, snap.denominator, frozen=True))
            now_counts = (live[month].numerator, live[month].denominator)
            if (snap.numerator, snap.denominator) != now_counts:
                first, last = month_of(snap.period_start)
                notes.setdefault(result.indicator.id, []).append(
                    SnapshotNote(
                        month=month,
                        stored=(snap.numerator, snap.denominator),
                        stored_on=snap.computed_at.date(),
                        live=now_counts,
                        partial=first < report.start or last > report.end,
                    )
                )
        trends[result.indicator.id] = points
    return trends, notes


def _read(
    request: Request,
    session: DB,
    principal: Principal,
    start: date,
    end: date,
    detail: dict[str, Any] | None = None,
) -> AdherenceReport:
    return read_report(
        session,
        actor=actor_of(principal, request),
        definition=definition_for(settings(request)),
        timezone=settings(request).timezone,
        start=start,
        end=end,
        now=now(request),
        detail=detail,
    )


def _typed(request: Request) -> dict[str, str]:
    """The period as the person typed it, to show back beside its error."""
    return {name: request.query_params.get(name, "") for name in ("from", "to")}


def _link(base: str, **params: Any) -> str:
    return f"{base}?{urlencode({k: v for k, v in params.items() if v is not None})}"


@router.get("/adherence")
def dashboard(request: Request, session: DB, principal: Viewer) -> Response:
    start, end, problems = _period(request)
    period = {"from": start.isoformat(), "to": end.isoformat()}
    if problems:  # the error, and no figures of a period nobody asked for
        return render(
            request,
            "adherence.html",
            {"report": None, "period": _typed(request), "problems": problems},
            status_code=422,
        )
    report = _read(request, session, principal, start, end)
    trends, notes = _trends(session, report)
    charts = {
        r.indicator.id: rate_chart(
            f"{r.indicator.id} by month", trends[r.indicator.id], target=r.indicator.target
        )
        for r in report.results
        if r.counts is not None
    }
    return render(
        request,
        "adherence.html",
        {
            "report": report,
            "summary": summary_chart(report),
            "charts": charts,
            "notes": notes,
            "period": period,
            "problems": problems,
            "pct": pct,
            "drill": lambda ind, show: _link(f"/adherence/{ind}", show=show, **period),
            "export": lambda fmt: _link("/adherence/export", format=fmt, **period),
        },
    )


@router.get("/adherence/export")
def export(request: Request, session: DB, principal: Viewer) -> Response:
    start, end, problems = _period(request)
    fmt = request.query_params.get("format", "html")
    if problems or fmt not in EXPORTS:
        raise HTTPException(status_code=422, detail=problems or {"format": "html, csv or json"})
    definition = definition_for(settings(request))
    report = _read(request, session, principal, start, end, {"format": fmt, "export": True})
    if fmt == "html":
        body = report_html(report, definition, trends=_trends(session, report)[0])
    elif fmt == "csv":
        body = report_csv(report)
    else:
        body = json.dumps(report_json(report, definition), indent=2)
    filename = f"adherence-{start}-{end}.{fmt}"
    return Response(
        body,
        media_type=EXPORTS[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Security-Policy": EXPORT_CSP,
        },
    )


def _tabs(
    indicator_id: str, show: str, period: Mapping[str, str], filters: Mapping[str, str | None]
) -> Sequence[tuple[str, str, bool]]:
    return [
        (name, _link(f"/adherence/{indicator_id}", show=name, **period, **filters), name == show)
        for name in SHOWS
    ]


@router.get("/adherence/{indicator_id}")
def indicator_page(request: Request, session: DB, principal: Viewer, indicator_id: str) -> Response:
    definition = definition_for(settings(request))
    known = {i.id: i for i in indicators_of(definition)}
    if indicator_id not in known:
        raise HTTPException(status_code=404, detail="no such indicator")
    ind = known[indicator_id]
    start, end, problems = _period(request)
    period_problems = {k: v for k, v in problems.items() if k in ("from", "to")}
    query = _drill_query(request.query_params, problems)
    period = {"from": start.isoformat(), "to": end.isoformat()}
    context: dict[str, Any] = {
        "ind": ind,
        "period": period,
        "problems": problems,
        "conditions": CONDITIONS,
        "defaults": [definition.defaults[name] for name in ind.defaults],
        "show": query.show,
        "regimen": query.regimen,
        "month": query.month,
        "pct": pct,
        "units": UNIT_WORDS,
        "can_open_patients": principal.role in READERS,
    }
    if not ind.computable:
        return render(request, "adherence_indicator.html", context | {"drill": None})
    if period_problems:  # the error, and no figures of a period nobody asked for
        context["period"] = _typed(request)
        return render(
            request, "adherence_indicator.html", context | {"result": None}, status_code=422
        )
    figures = _figures(request, session, principal, definition, ind, start, end, query)
    return render(
        request,
        "adherence_indicator.html",
        context | figures | _drill_links(ind, query, period, figures["result"]),
    )


@dataclass(frozen=True, slots=True)
class _DrillQuery:
    """Which patients behind an indicator the page lists: a count, a regimen or month, a page."""

    show: str
    regimen: str | None
    month: str | None
    page: int


def _drill_query(params: Mapping[str, str], problems: dict[str, str]) -> _DrillQuery:
    """The drill-down asked for; a value it cannot use is noted in ``problems`` and dropped."""
    show = params.get("show", "denominator")
    if show not in SHOWS:
        problems["show"] = f"one of {', '.join(SHOWS)}"
        show = "denominator"
    month = params.get("month") or None
    if month is not None and (
        len(month) != 7 or month[4] != "-" or not month.replace("-", "").isdigit()
    ):
        problems["month"] = "must be YYYY-MM"
        month = None
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    return _DrillQuery(show=show, regimen=params.get("regimen"), month=month, page=page)


def _figures(
    request: Request,
    session: DB,
    principal: Principal,
    definition: Definition,
    ind: Indicator,
    start: date,
    end: date,
    query: _DrillQuery,
) -> dict[str, Any]:
    """The indicator's result and monthly chart, and the page of patients behind the count."""
    tz, instant = settings(request).timezone, now(request)
    prepare(session, definition=definition, timezone=tz, now=instant)
    report = compute_report(
        session,
        definition=definition,
        timezone=tz,
        start=start,
        end=end,
        now=instant,
        indicator_ids=[ind.id],
        prepared=True,
    )
    trends, notes = _trends(session, report)
    drill = drill_down(
        session,
        definition=definition,
        timezone=tz,
        indicator_id=ind.id,
        start=start,
        end=end,
        now=instant,
        actor=actor_of(principal, request),
        show=query.show,
        regimen=query.regimen,
        month=query.month,
        limit=PAGE_SIZE,
        offset=(query.page - 1) * PAGE_SIZE,
        prepared=True,
    )
    return {
        "result": report.result(ind.id),
        "chart": rate_chart(f"{ind.id} by month", trends[ind.id], target=ind.target),
        "notes": notes.get(ind.id, []),
        "drill": drill,
        "page": query.page,
        "pages": max(1, (drill.total + PAGE_SIZE - 1) // PAGE_SIZE),
    }


def _drill_links(
    ind: Indicator, query: _DrillQuery, period: Mapping[str, str], result: IndicatorResult
) -> dict[str, Any]:
    """The links that narrow the list by count, regimen or month, and page through it."""
    filters = {"regimen": query.regimen, "month": query.month}
    base, show = f"/adherence/{ind.id}", query.show
    return {
        "tabs": _tabs(ind.id, show, period, filters),
        "by_regimen": [
            (key, counts, _link(base, show=show, regimen=key, **period))
            for key, counts in result.by_regimen.items()
        ],
        "by_month": [
            (key, counts, _link(base, show=show, month=key, **period))
            for key, counts in result.by_month.items()
        ],
        "page_link": lambda n: _link(base, show=show, page=n, **period, **filters),
        "clear_link": _link(base, show=show, **period),
    }
