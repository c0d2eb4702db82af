"""models.task_sql renders pathways.core.window exactly: the same state, in PostgreSQL.

Random windows (midnight-edged like the planner's, or free instants like a review
task's) and instants on and around their edges, on ordinary days and on the DST
changes of the clinic's zone (America/New_York, 2026-03-08 and 2026-11-01, where a
local day is 23 or 25 hours and an hour of wall clock repeats).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from models.session import engine_for
from models.task_sql import (
    actionable,
    due_by,
    instant,
    missed,
    missed_open,
    overdue,
    past_due,
    sql,
    state,
    task_columns,
    timeliness,
    window_open,
)
from pathways.core.window import ClinicDay, TaskWindow, Timeliness, WindowState

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
# The days before, of and after each DST change of the zone in 2026.
DST_DAYS = [
    date(2026, 3, 7),
    date(2026, 3, 8),
    date(2026, 3, 9),
    date(2026, 10, 31),
    date(2026, 11, 1),
    date(2026, 11, 2),
]

_T = task_columns("t")
_NOW = instant("now")
_END = instant("day_end")
CLASSIFY = text(
    f"SELECT {sql(state(_T, _NOW))}, {sql(timeliness(_T))}, {sql(window_open(_T, _NOW))}, "  # noqa: S608 (rendered vocabulary)
    f"{sql(actionable(_T, _NOW))}, {sql(past_due(_T, _NOW))}, {sql(missed(_T, _NOW))}, "
    f"{sql(due_by(_T, _NOW, _END))}, {sql(overdue(_T, _NOW))}, {sql(missed_open(_T, _NOW))} "
    "FROM (SELECT CAST(:nb AS timestamptz) AS not_before, "
    "CAST(:due AS timestamptz) AS due, CAST(:exp AS timestamptz) AS expires, "
    "CAST(:now AS timestamptz) AS completed_at) t, "
    "(SELECT CAST(:now AS timestamptz) AS now, CAST(:end AS timestamptz) AS day_end) i"
)

days = st.one_of(st.sampled_from(DST_DAYS), st.dates(date(2026, 1, 1), date(2026, 12, 31)))


@st.composite
def windows(draw: st.DrawFn) -> TaskWindow:
    first = draw(days)
    if draw(st.booleans()):  # the planner's: local midnights of window dates
        due_day = first + timedelta(days=draw(st.integers(0, 3)))
        last = due_day + timedelta(days=draw(st.integers(0, 3)))
        if last == first:  # a one-day window: due and expires are the same midnight
            end = ClinicDay.on(first, TZ).end
            return TaskWindow(ClinicDay.on(first, TZ).start, end, end)
        return TaskWindow(
            ClinicDay.on(first, TZ).start, ClinicDay.on(due_day, TZ).end, ClinicDay.on(last, TZ).end
        )
    # Free instants (a review task: opens when raised, due hours later), in UTC steps
    # so that both sides of a repeated wall-clock hour occur.
    opens = ClinicDay.on(first, TZ).start.astimezone(UTC) + timedelta(
        minutes=draw(st.integers(0, 48 * 60))
    )
    due = opens + timedelta(minutes=draw(st.integers(0, 72 * 60)))
    expires = due + timedelta(minutes=draw(st.integers(0, 10 * 24 * 60)))
    return TaskWindow(opens.astimezone(ZONE), due.astimezone(ZONE), expires.astimezone(ZONE))


@st.composite
def instants(draw: st.DrawFn, window: TaskWindow) -> datetime:
    edge = draw(st.sampled_from([window.not_before, window.due, window.expires]))
    step = draw(
        st.one_of(
            st.sampled_from([timedelta(0), timedelta(microseconds=1), -timedelta(microseconds=1)]),
            st.integers(-3 * 24 * 60, 3 * 24 * 60).map(lambda m: timedelta(minutes=m)),
        )
    )
    return (edge.astimezone(UTC) + step).astimezone(ZONE)


@pytest.fixture
def conn(database_url: str) -> Iterator[Connection]:
    with engine_for(database_url).connect() as connection:
        yield connection


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(data=st.data())
def test_the_sql_classes_a_window_as_the_python_type_does(
    conn: Connection, data: st.DataObject
) -> None:
    window = data.draw(windows())
    now = data.draw(instants(window))
    day_end = ClinicDay.of(now, TZ).end
    row = conn.execute(
        CLASSIFY,
        {
            "nb": window.not_before,
            "due": window.due,
            "exp": window.expires,
            "now": now,
            "end": day_end,
        },
    ).one()
    expected = window.state_at(now)
    assert WindowState(row[0]) is expected
    # A completion at ``now``: early, on time or late alike.
    assert Timeliness(row[1]) is window.completion(now)
    assert row[2] is (expected is WindowState.OPEN)
    assert row[3] is (expected is not WindowState.UPCOMING)
    assert row[4] is (expected in (WindowState.OVERDUE, WindowState.MISSED))
    assert row[5] is (expected is WindowState.MISSED)
    assert row[6] is window.due_today(now, TZ)
    # The worklist's overdue and missed views (models.repositories.worklist).
    assert row[7] is (expected is WindowState.OVERDUE)
    assert row[8] is (expected is WindowState.MISSED)


def test_the_edges_are_half_open_on_a_dst_day() -> None:
    """2026-11-01 lasts 25 hours in New York: a one-day window is open all of them."""
    day = ClinicDay.on(date(2026, 11, 1), TZ)
    assert day.end.astimezone(UTC) - day.start.astimezone(UTC) == timedelta(hours=25)
    window = TaskWindow(day.start, day.end, day.end)
    assert window.state_at(day.start - timedelta(microseconds=1)) is WindowState.UPCOMING
    assert window.state_at(day.start) is WindowState.OPEN
    last_hour = (day.end.astimezone(UTC) - timedelta(minutes=30)).astimezone(ZONE)
    assert window.state_at(last_hour) is WindowState.OPEN
    # Due and expires together: past due is missed, never overdue.
    assert window.state_at(day.end) is WindowState.MISSED
    assert window.completion(day.end) is Timeliness.LATE


def test_two_sides_of_a_repeated_hour_are_two_instants() -> None:
    """01:30 before and after the fall-back: Python's same-zone comparison calls them equal."""
    first = datetime(2026, 11, 1, 1, 30, tzinfo=ZONE)
    second = first.replace(fold=1)
    assert first == second  # wall-clock comparison, the trap the window avoids
    window = TaskWindow(first, second, second)
    assert window.state_at(first) is WindowState.OPEN
    assert window.state_at(second) is WindowState.MISSED
