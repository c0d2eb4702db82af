"""The nightly adherence_report flow: monthly snapshots that settle, freeze, and are replaced whole."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from flows import adherence_report as job
from flows.adherence_report import settling_months, snapshot_adherence
from flows.runtime import Runtime, use_runtime
from models.ops import AdherenceSnapshot, RunLedger
from models.repositories.adherence import compute_report, snapshots_between, store_snapshot
from models.repositories.audit import Actor
from models.session import transaction
from models.task import CareTask
from pathways.definition import shipped_definition
from tests.models.adherence_cohort import NOW, TZ, build

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def ids(engine: Engine) -> dict[str, int]:
    with transaction(engine) as session:
        return build(session).ids


def stored(engine: Engine, period: tuple[date, date]) -> dict[str, AdherenceSnapshot]:
    with transaction(engine) as session:
        return {
            s.indicator_id: s for s in snapshots_between(session, start=period[0], end=period[1])
        }


def run(engine: Engine, **kwargs: object) -> dict[str, object]:
    return snapshot_adherence(
        engine, definition=shipped_definition(), timezone=TZ, now=NOW, **kwargs
    )  # type: ignore[arg-type]


def test_the_first_night_stores_the_current_month_and_the_unsnapshotted_ones(
    engine: Engine, ids: dict[str, int]
) -> None:
    # rule: QM-13, QM-18 (the figures stored are the report's)
    stats = run(engine)
    assert stats["periods"] == [
        "2026-08-01..2026-08-31", "2026-09-01..2026-09-30",
        "2026-10-01..2026-10-31", "2026-11-01..2026-11-30",
    ]  # fmt: skip
    october = stored(engine, OCTOBER)
    # Jo and Ana on time, Ben late, Gus excused (all due in October).
    assert (october["QM-13"].numerator, october["QM-13"].denominator) == (2, 3)
    november = stored(engine, NOVEMBER)
    assert november["QM-18"].breakdown["counts"]["pending"] == 1  # type: ignore[index]  # Mia


def test_a_settled_month_is_frozen_and_a_named_rerun_replaces_it(
    engine: Engine, ids: dict[str, int]
) -> None:
    run(engine)
    # Ben's late stay is "corrected" a week later; the next nights leave October alone.
    with transaction(engine) as session:
        session.execute(
            update(CareTask)
            .where(CareTask.patient_id == ids["Ben"], CareTask.rule_id == "BLIN-02")
            .values(completed_at=NOW - timedelta(days=25))
        )
        assert settling_months(
            session, today=NOW.date() + timedelta(days=1), lookback_months=3
        ) == [NOVEMBER]
    nightly = snapshot_adherence(
        engine, definition=shipped_definition(), timezone=TZ, now=NOW + timedelta(days=1)
    )
    assert nightly["periods"] == ["2026-11-01..2026-11-30"]
    assert stored(engine, OCTOBER)["QM-13"].numerator == 2
    # Asked for by name, October is computed again and its snapshot replaced whole.
    again = run(engine, periods=[OCTOBER])
    assert again["periods"] == ["2026-10-01..2026-10-31"]
    october = stored(engine, OCTOBER)
    assert october["QM-13"].numerator == 3
    with transaction(engine) as session:
        rows = session.execute(
            select(func.count())
            .select_from(AdherenceSnapshot)
            .where(AdherenceSnapshot.period_start == OCTOBER[0])  # type: ignore[arg-type]
        ).scalar_one()
    assert rows == len(october) == 24  # the computable indicators, once each


def test_a_failure_leaves_the_previous_snapshots_untouched(
    engine: Engine, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(engine, periods=[OCTOBER])
    before = {k: (v.numerator, v.computed_at) for k, v in stored(engine, OCTOBER).items()}
    calls = {"n": 0}
    real = job.store_snapshot

    def failing(session, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(session, **kwargs)

    monkeypatch.setattr(job, "store_snapshot", failing)
    with pytest.raises(RuntimeError):
        snapshot_adherence(
            engine,
            definition=shipped_definition(),
            timezone=TZ,
            now=NOW + timedelta(hours=1),
            periods=[OCTOBER, NOVEMBER],
        )
    after = {k: (v.numerator, v.computed_at) for k, v in stored(engine, OCTOBER).items()}
    assert after == before
    assert stored(engine, NOVEMBER) == {}


def test_two_runs_of_one_period_take_turns(engine: Engine, ids: dict[str, int]) -> None:
    """The second writer waits for the first (period lock) and then replaces its rows."""
    definition = shipped_definition()

    def report(session):  # type: ignore[no-untyped-def]
        return compute_report(
            session, definition=definition, timezone=TZ, start=OCTOBER[0], end=OCTOBER[1], now=NOW
        )

    first_holds = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction(engine) as session:
                store_snapshot(session, report=report(session), actor=Actor.system("a"))
                first_holds.set()
                release.wait(timeout=30)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            first_holds.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert first_holds.wait(timeout=60)
    second_done = threading.Event()

    def second() -> None:
        try:
            with transaction(engine) as session:
                store_snapshot(session, report=report(session), actor=Actor.system("b"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        second_done.set()

    other = threading.Thread(target=second)
    other.start()
    assert not second_done.wait(timeout=1.5)  # blocked behind the first writer's lock
    release.set()
    thread.join(timeout=60)
    other.join(timeout=60)
    assert not errors, errors
    assert len(stored(engine, OCTOBER)) == 24


@pytest.fixture
def runtime(engine: Engine) -> Iterator[Runtime]:
    rt = Runtime(
        engine=engine,
        timezone=TZ,
        definition=lambda version: shipped_definition(),
        clock=lambda: NOW,
        owner="test-adherence",
    )
    with use_runtime(rt):
        yield rt


@pytest.mark.usefixtures("prefect_harness")
def test_the_prefect_flow_stores_the_settling_months(runtime: Runtime, ids: dict[str, int]) -> None:
    state = job.adherence_report(return_state=True)
    assert state.is_completed()
    assert state.result()["periods"][-1] == "2026-11-01..2026-11-30"
    one = job.adherence_report(period_start=OCTOBER[0], period_end=OCTOBER[1])
    assert one["periods"] == ["2026-10-01..2026-10-31"]
    with pytest.raises(ValueError, match="go together"):
        job.adherence_report(period_start=OCTOBER[0])


@pytest.mark.usefixtures("prefect_harness")
def test_a_scheduled_run_claims_its_clinic_day_once(runtime: Runtime, ids: dict[str, int]) -> None:
    first = job.adherence_report(period_key="2026-11-20")
    assert first["period_key"] == "2026-11-20" and first["indicators"] > 0
    again = job.adherence_report(period_key="2026-11-20")
    assert again == {"period_skipped": True, "period_key": "2026-11-20"}
    with transaction(runtime.engine) as session:
        ledger = session.execute(select(RunLedger.job, RunLedger.status)).all()
    assert [tuple(r) for r in ledger] == [("adherence_report", "done")]
