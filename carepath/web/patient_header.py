"""The patient page's header and its task summary: what matters, at a glance.

The header names the phase and tracks, the course in progress and today's
cycle day (the course the engine reads: ``courses.current_course``), the next
due task, how many are overdue or missed, the open alerts by severity and an
unsigned suggestion; each links to its detail further down the page. Open
tasks are grouped (overdue, due within a week, later) so the first screen
is a summary, not a table of 35 rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.task import CareTask, ClinicalAlert
from pathways.core.window import TaskWindow, WindowState

# How many tasks of a group show before "n more" (the rest in a collapsed list).
SHOWN_PER_GROUP = 5
WEEK = timedelta(days=7)
PAST_DUE = (WindowState.OVERDUE, WindowState.MISSED)


@dataclass(frozen=True, slots=True)
class TaskGroup:
    key: str
    title: str
    tasks: list[CareTask]

    @property
    def shown(self) -> list[CareTask]:
        return self.tasks[:SHOWN_PER_GROUP]

    @property
    def more(self) -> list[CareTask]:
        return self.tasks[SHOWN_PER_GROUP:]


@dataclass
class Header:
    next_task: CareTask | None
    overdue: int
    missed: int
    alerts: dict[str, int] = field(default_factory=dict)


def _window(task: CareTask) -> TaskWindow:
    return TaskWindow(task.not_before, task.due, task.expires)


def group_tasks(tasks: list[CareTask], now: datetime) -> list[TaskGroup]:
    """Open tasks by urgency: missed or overdue first, then due within a week, then later."""
    late: list[CareTask] = []
    week: list[CareTask] = []
    later: list[CareTask] = []
    for t in sorted(tasks, key=lambda t: (t.due, t.id or 0)):
        window = _window(t)
        if window.state_at(now) in PAST_DUE:
            late.append(t)
        elif window.due_by(now, now + WEEK):
            week.append(t)
        else:
            later.append(t)
    groups = [
        TaskGroup("overdue", "Overdue or missed", late),
        TaskGroup("week", "Due within 7 days", week),
        TaskGroup("later", "Later", later),
    ]
    return [g for g in groups if g.tasks]


def header(open_tasks: list[CareTask], alerts: list[ClinicalAlert], now: datetime) -> Header:
    upcoming = sorted(open_tasks, key=lambda t: (t.due, t.id or 0))
    waiting = [a for a in alerts if a.acknowledged_at is None]
    by_severity: dict[str, int] = {}
    for a in waiting:
        by_severity[a.severity.value] = by_severity.get(a.severity.value, 0) + 1
    states = [_window(t).state_at(now) for t in open_tasks]
    return Header(
        next_task=next(
            (t for t in upcoming if _window(t).state_at(now) is not WindowState.MISSED), None
        ),
        overdue=states.count(WindowState.OVERDUE),
        missed=states.count(WindowState.MISSED),
        alerts=dict(sorted(by_severity.items(), key=lambda kv: kv[0] != "critical")),
    )
