"""Pathway-adherence reports: the indicators of RULES.md §8 computed in SQL, their patients, snapshots.

``compute_report`` prepares the episodes and tasks once (two temporary tables,
``adherence_sql.prepare``), then runs one aggregate statement per indicator
and folds the few rows it returns into totals, per regimen and per month.
``drill_down`` lists the units behind a number — patients and tasks — and is
an audited read of patient data. ``store_snapshot`` replaces a period's frozen
figures in the caller's transaction, so a re-run never leaves half a period.

Units are counted in a period by their period date (a date in the clinic's
calendar: a task's due date, an episode's IND_D1 or the end of its window, a
dose's day). The numerator is the units on time; the denominator adds those
late, early and missed; excused and pending units are reported beside it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlmodel import Session, col

from models.ops import AdherenceSnapshot
from models.repositories.adherence_filters import Params
from models.repositories.adherence_sql import (
    PLAN_SETTINGS,
    PREPARE_SQL,
    aggregate_sql,
    common_params,
    drill_sql,
    units_sql,
)
from models.repositories.audit import Actor, record, record_many
from models.sql import table_of
from models.task import CareTask
from pathways.clock import month_of
from pathways.definition import Definition
from pathways.engine import Indicator, indicator, indicators_of

CLASSES = ("on_time", "late", "early", "missed", "excused", "pending")
# Which classes each number of the report stands for (the drill-down's ``show``).
SHOWS: dict[str, tuple[str, ...]] = {
    "numerator": ("on_time",),
    "denominator": ("on_time", "late", "early", "missed"),
    "lapses": ("late", "early", "missed"),
    **{cls: (cls,) for cls in CLASSES},
}
NO_REGIMEN = ""


@dataclass(frozen=True, slots=True)
class Counts:
    on_time: int = 0
    late: int = 0
    early: int = 0
    missed: int = 0
    excused: int = 0
    pending: int = 0
    # Units whose task was skipped on purpose (counted as the default says: missed or excused).
    skipped: int = 0

    @property
    def numerator(self) -> int:
        return self.on_time

    @property
    def denominator(self) -> int:
        return self.on_time + self.late + self.early + self.missed

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def plus(self, cls: str, n: int, skipped: int = 0) -> Counts:
        values = {name: getattr(self, name) for name in (*CLASSES, "skipped")}
        values[cls] += n
        values["skipped"] += skipped
        return Counts(**values)

    def as_dict(self) -> dict[str, Any]:
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "rate": self.rate,
            **{name: getattr(self, name) for name in (*CLASSES, "skipped")},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Counts:
        return cls(**{name: int(data.get(name, 0)) for name in (*CLASSES, "skipped")})


@dataclass(frozen=True)
class IndicatorResult:
    indicator: Indicator
    # None: the indicator is not computable (its reason says why).
    counts: Counts | None
    by_regimen: Mapping[str, Counts] = field(default_factory=dict)
    by_month: Mapping[str, Counts] = field(default_factory=dict)


@dataclass(frozen=True)
class AdherenceReport:
    start: date
    end: date
    as_of: datetime
    timezone: str
    pathway_name: str
    pathway_version: str
    results: tuple[IndicatorResult, ...]

    def result(self, indicator_id: str) -> IndicatorResult:
        for found in self.results:
            if found.indicator.id == indicator_id:
                return found
        raise KeyError(indicator_id)


@dataclass(frozen=True, slots=True)
class DrillTask:
    id: int
    rule_id: str
    title: str
    status: str
    due_date: date
    window_start: date
    window_end: date
    completed_at: datetime | None
    status_reason: str | None


@dataclass(frozen=True, slots=True)
class DrillRow:
    unit_key: str
    patient_id: int
    mrn: str
    patient_name: str
    episode: int
    regimen: str | None
    period_date: date
    cls: str
    skipped: bool
    note: str | None
    tasks: tuple[DrillTask, ...]


@dataclass(frozen=True)
class DrillDown:
    indicator: Indicator
    rows: tuple[DrillRow, ...]
    total: int


def prepare(
    session: Session,
    *,
    definition: Definition,
    timezone: str,
    now: datetime,
    indicator_ids: Iterable[str] | None = None,
) -> None:
    """Build this transaction's episode and task tables (dropped at commit).

    With ``indicator_ids``, only the tasks those indicators read are classed (a
    drill-down into one indicator needs a fraction of them).
    """
    wanted = None if indicator_ids is None else set(indicator_ids)
    rules = sorted(
        {
            r
            for i in indicators_of(definition)
            if i.computable and (wanted is None or i.id in wanted)
            for r in i.task_rules()
        }
    )
    params = {**common_params(definition, timezone=timezone, now=now), "rules": rules}
    for statement in PREPARE_SQL:
        session.execute(text(statement), params)


def _run(
    session: Session,
    ind: Indicator,
    definition: Definition,
    base: Mapping[str, Any],
    build: Callable[[str], str],
    extra: Mapping[str, Any],
) -> Sequence[Any]:
    p = Params()
    sql = build(units_sql(ind, definition, p))
    session.execute(text(PLAN_SETTINGS[0]))
    try:
        return session.execute(text(sql), {**base, **p.values, **extra}).all()
    finally:
        session.execute(text(PLAN_SETTINGS[1]))


def _fold(rows: Iterable[Any]) -> tuple[Counts, dict[str, Counts], dict[str, Counts]]:
    total = Counts()
    by_regimen: dict[str, Counts] = {}
    by_month: dict[str, Counts] = {}
    for row in rows:
        total = total.plus(row.cls, row.n, row.skipped)
        by_regimen[row.regimen] = by_regimen.get(row.regimen, Counts()).plus(
            row.cls, row.n, row.skipped
        )
        by_month[row.month] = by_month.get(row.month, Counts()).plus(row.cls, row.n, row.skipped)
    return total, dict(sorted(by_regimen.items())), dict(sorted(by_month.items()))


def _aggregates(
    session: Session,
    *,
    definition: Definition,
    timezone: str,
    start: date,
    end: date,
    now: datetime,
    indicator_ids: Iterable[str] | None,
    prepared: bool,
) -> list[tuple[Indicator, Sequence[Any] | None]]:
    """Per indicator, the (class, regimen, month, count) rows of [start, end]; None: not computable."""
    if end < start:
        raise ValueError("the period ends before it starts")
    wanted = None if indicator_ids is None else set(indicator_ids)
    if not prepared:
        prepare(session, definition=definition, timezone=timezone, now=now, indicator_ids=wanted)
    base = {**common_params(definition, timezone=timezone, now=now), "start": start, "end": end}
    out: list[tuple[Indicator, Sequence[Any] | None]] = []
    for ind in indicators_of(definition):
        if wanted is not None and ind.id not in wanted:
            continue
        rows = _run(session, ind, definition, base, aggregate_sql, {}) if ind.computable else None
        out.append((ind, rows))
    return out


def _report(
    definition: Definition, timezone: str, start: date, end: date, now: datetime,
    results: Iterable[IndicatorResult],
) -> AdherenceReport:  # fmt: skip
    return AdherenceReport(
        start=start,
        end=end,
        as_of=now,
        timezone=timezone,
        pathway_name=definition.name,
        pathway_version=definition.version,
        results=tuple(results),
    )


def read_report(
    session: Session,
    *,
    actor: Actor,
    definition: Definition,
    timezone: str,
    start: date,
    end: date,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> AdherenceReport:
    """The report a person asked for, its reading audited in the same transaction."""
    report = compute_report(
        session, definition=definition, timezone=timezone, start=start, end=end, now=now
    )
    record(
        session,
        actor=actor,
        action="read",
        entity="adherence_report",
        entity_id=f"{start}..{end}",
        detail=detail,
    )
    return report


def compute_report(
    session: Session,
    *,
    definition: Definition,
    timezone: str,
    start: date,
    end: date,
    now: datetime,
    indicator_ids: Iterable[str] | None = None,
    prepared: bool = False,
) -> AdherenceReport:
    """Every indicator (or those named) over units whose period date is in [start, end]."""
    results = []
    for ind, rows in _aggregates(
        session,
        definition=definition,
        timezone=timezone,
        start=start,
        end=end,
        now=now,
        indicator_ids=indicator_ids,
        prepared=prepared,
    ):
        results.append(
            IndicatorResult(ind, None) if rows is None else IndicatorResult(ind, *_fold(rows))
        )
    return _report(definition, timezone, start, end, now, results)


def monthly_reports(
    session: Session,
    *,
    definition: Definition,
    timezone: str,
    months: Sequence[tuple[date, date]],
    now: datetime,
    prepared: bool = False,
) -> list[AdherenceReport]:
    """One report per calendar month, from one statement per indicator over all of them."""
    for first, last in months:
        if (first, last) != month_of(first):
            raise ValueError(f"{first}..{last} is not a calendar month")
    if not months:
        return []
    aggregates = _aggregates(
        session,
        definition=definition,
        timezone=timezone,
        start=min(m[0] for m in months),
        end=max(m[1] for m in months),
        now=now,
        indicator_ids=None,
        prepared=prepared,
    )
    reports = []
    for first, last in months:
        key = f"{first:%Y-%m}"
        results = [
            IndicatorResult(ind, None)
            if rows is None
            else IndicatorResult(ind, *_fold(r for r in rows if r.month == key))
            for ind, rows in aggregates
        ]
        reports.append(_report(definition, timezone, first, last, now, results))
    return reports


def drill_down(
    session: Session,
    *,
    definition: Definition,
    timezone: str,
    indicator_id: str,
    start: date,
    end: date,
    now: datetime,
    actor: Actor,
    show: str = "denominator",
    regimen: str | None = None,
    month: str | None = None,
    limit: int = 100,
    offset: int = 0,
    prepared: bool = False,
) -> DrillDown:
    """The units behind one number, with their patients and tasks; every patient shown is audited."""
    ind = indicator(definition, indicator_id)
    if not ind.computable:
        raise ValueError(f"{indicator_id} is not computable: {ind.reason}")
    classes = SHOWS[show]
    if not prepared:
        prepare(
            session,
            definition=definition,
            timezone=timezone,
            now=now,
            indicator_ids=[indicator_id],
        )
    base = {**common_params(definition, timezone=timezone, now=now), "start": start, "end": end}
    extra = {"classes": list(classes), "limit": limit, "offset": offset}
    if regimen is not None:
        extra["regimen"] = regimen
    if month is not None:
        extra["month"] = month

    def build(units: str) -> str:
        return drill_sql(units, classes=True, regimen=regimen is not None, month=month is not None)

    rows = _run(session, ind, definition, base, build, extra)
    tasks = _drill_tasks(session, sorted({t for r in rows for t in r.task_ids}))
    record_many(
        session,
        actor=actor,
        action="read",
        entity="adherence_drilldown",
        patient_ids=sorted({r.patient_id for r in rows}),
        detail={"indicator": indicator_id, "show": show},
    )
    return DrillDown(
        indicator=ind,
        rows=tuple(_drill_row(r, tasks) for r in rows),
        total=rows[0].total if rows else 0,
    )


def _drill_tasks(session: Session, task_ids: list[int]) -> dict[int, DrillTask]:
    """The tasks the drill-down's units name, by id."""
    tasks: dict[int, DrillTask] = {}
    if not task_ids:
        return tasks
    c = table_of(CareTask).c
    for t in session.execute(
        select(
            c.id,
            c.rule_id,
            c.title,
            c.status,
            c.due_date,
            c.window_start,
            c.window_end,
            c.completed_at,
            c.status_reason,
        ).where(c.id.in_(task_ids))
    ):
        tasks[t.id] = DrillTask(*t)
    return tasks


def _drill_row(r: Any, tasks: dict[int, DrillTask]) -> DrillRow:
    """One unit of the drill-down (a row of the drill SQL) with its tasks."""
    return DrillRow(
        unit_key=r.unit_key,
        patient_id=r.patient_id,
        mrn=r.mrn,
        patient_name=r.display_name,
        episode=r.ep_no,
        regimen=r.regimen,
        period_date=r.period_date,
        cls=r.cls,
        skipped=r.skipped,
        note=r.note,
        tasks=tuple(tasks[t] for t in r.task_ids if t in tasks),
    )


# -- snapshots ---------------------------------------------------------------------------


def _lock_key(start: date, end: date) -> int:
    return zlib.crc32(f"adherence:{start.isoformat()}:{end.isoformat()}".encode()) & 0x7FFFFFFF


def store_snapshot(session: Session, *, report: AdherenceReport, actor: Actor) -> int:
    """Replace the period's snapshot with the report's figures, inside the caller's transaction.

    A transaction-scoped advisory lock on the period makes two concurrent runs
    take turns; the old rows are deleted and the new ones inserted in the same
    transaction, so readers see the old snapshot or the new one, never a mix.
    """
    session.execute(
        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(report.start, report.end)}
    )
    table = table_of(AdherenceSnapshot)
    session.execute(
        delete(table).where(table.c.period_start == report.start, table.c.period_end == report.end)
    )
    rows = []
    for result in report.results:
        if result.counts is None:
            continue
        c = result.counts
        rows.append(
            AdherenceSnapshot(
                period_start=report.start,
                period_end=report.end,
                indicator_id=result.indicator.id,
                title=result.indicator.title[:240],
                numerator=c.numerator,
                denominator=c.denominator,
                excused=c.excused,
                late=c.late,
                missed=c.missed,
                rate=c.rate,
                rule_ids=list(result.indicator.rule_ids),
                breakdown={
                    "counts": c.as_dict(),
                    "by_regimen": {k: v.as_dict() for k, v in result.by_regimen.items()},
                    "by_month": {k: v.as_dict() for k, v in result.by_month.items()},
                    "as_of": report.as_of.isoformat(),
                    "timezone": report.timezone,
                },
                pathway_version=report.pathway_version,
                computed_at=report.as_of,
            )
        )
    session.add_all(rows)
    record(
        session,
        actor=actor,
        action="snapshot",
        entity="adherence_snapshot",
        entity_id=f"{report.start.isoformat()}..{report.end.isoformat()}",
        detail={"indicators": len(rows)},
    )
    session.flush()
    return len(rows)


def snapshots_between(session: Session, *, start: date, end: date) -> list[AdherenceSnapshot]:
    """Stored snapshots of periods inside [start, end], oldest period first."""
    s = AdherenceSnapshot
    return list(
        session.execute(
            select(s)
            .where(col(s.period_start) >= start, col(s.period_end) <= end)
            .order_by(col(s.period_start), col(s.indicator_id))
        ).scalars()
    )


def snapshot_pending(session: Session, *, start: date, end: date) -> int | None:
    """Units still pending in the period's stored snapshot (None: no snapshot stored)."""
    rows = session.execute(
        select(col(AdherenceSnapshot.breakdown)).where(
            col(AdherenceSnapshot.period_start) == start,
            col(AdherenceSnapshot.period_end) == end,
        )
    ).all()
    if not rows:
        return None
    return sum(int(((b or {}).get("counts") or {}).get("pending", 0)) for (b,) in rows)


__all__ = [
    "CLASSES",
    "SHOWS",
    "AdherenceReport",
    "Counts",
    "DrillDown",
    "DrillRow",
    "DrillTask",
    "IndicatorResult",
    "compute_report",
    "drill_down",
    "monthly_reports",
    "prepare",
    "snapshot_pending",
    "snapshots_between",
    "store_snapshot",
]
