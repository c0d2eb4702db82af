"""planned_rows reuses the text of shared details and instants, never across values that differ."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from models.repositories.plan_rows import PatientPlan, planned_rows
from pathways.decisions import PlannedTask
from pathways.vocab import Role, TaskKind

DAY = date(2026, 11, 1)  # the end of daylight saving time in New York
NY = ZoneInfo("America/New_York")


def _task(**changes: object) -> PlannedTask:
    base = PlannedTask(
        key="k",
        kind=TaskKind.LAB_PANEL,
        rule_id="MON-03",
        title="Check",
        role=Role.COORDINATOR,
        window_start=DAY,
        due_date=DAY,
        window_end=DAY,
        not_before=datetime.combine(DAY, time(0), tzinfo=NY),
        due=datetime.combine(DAY, time(9), tzinfo=NY),
        expires=datetime.combine(DAY, time(23), tzinfo=NY),
        detail={"anchor": "cycle_day", "rule_ids": ("MON-03",)},
    )
    return replace(base, **changes)


def _fields(task: PlannedTask, patient: int = 1) -> list[str]:
    plan = PatientPlan(patient_id=patient, pathway_version="2026.1", tasks=[task])
    (row,) = planned_rows(plan, now=datetime.now(UTC))
    return row.line.split("\t")


def test_equal_details_of_other_types_keep_their_own_text() -> None:
    # 1 == 1.0 == True, but they are three different JSON texts; whichever comes first.
    for order in ([1, 1.0, True], [True, 1.0, 1], [1.0, True, 1]):
        texts = [_fields(_task(detail={"n": value, "t": (value,)}))[-2] for value in order]
        assert [json.loads(t)["n"] for t in texts] == order
        assert [type(json.loads(t)["n"]) for t in texts] == [type(v) for v in order]


def test_a_shared_detail_is_the_same_text_for_every_patient() -> None:
    first, second = _fields(_task(), patient=1), _fields(_task(), patient=2)
    assert first[-2] == second[-2] == '{"anchor":"cycle_day","rule_ids":["MON-03"]}'


def test_equal_instants_in_other_zones_keep_their_own_offsets() -> None:
    ny = _task()
    utc = _task(
        not_before=ny.not_before.astimezone(UTC),
        due=ny.due.astimezone(UTC),
        expires=ny.expires.astimezone(UTC),
    )
    assert ny.due == utc.due
    assert _fields(ny)[15:18] != _fields(utc)[15:18]
    assert _fields(utc)[16] == utc.due.isoformat()
    assert _fields(ny)[16] == ny.due.isoformat()


def test_the_repeated_hour_keeps_its_two_offsets() -> None:
    # 01:30 happens twice on DAY; the two instants compare equal within one zone.
    early = datetime.combine(DAY, time(1, 30), tzinfo=NY)
    late = early.replace(fold=1)
    a = _task(not_before=early, due=early, expires=datetime.combine(DAY, time(23), tzinfo=NY))
    b = _task(not_before=late, due=late, expires=datetime.combine(DAY, time(23), tzinfo=NY))
    assert _fields(a)[16] == "2026-11-01T01:30:00-04:00"
    assert _fields(b)[16] == "2026-11-01T01:30:00-05:00"
