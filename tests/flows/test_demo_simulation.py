"""The demo's simulated clinic, run with the fake engine: deterministic and lively."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from carepath.channels import FileSink
from carepath.demo.simulate import Clinic, arrivals, simulate_clinic
from flows.runtime import Runtime, use_runtime
from models.repositories.simulation import OpenTask
from tests.flows.conftest import NOON, TODAY


def test_a_tasks_fate_depends_on_the_seed_and_its_key_only(runtime: Runtime) -> None:
    task = OpenTask(
        1, 1, "p1:2026.1:x", "lab_panel", "MON-03", "coordinator",
        TODAY, TODAY + timedelta(days=2), TODAY + timedelta(days=3), NOON, None, None,
    )  # fmt: skip
    a, b = Clinic(runtime, seed=7), Clinic(runtime, seed=7)
    assert a.fate(task) == b.fate(task)
    fates = [Clinic(runtime, seed=s).fate(task) for s in range(200)]
    missed = sum(f is None for f in fates)
    late = sum(f is not None and f > task.due_date for f in fates)
    assert 0 < missed < 40 and 0 < late < 60


def test_a_dose_its_premedication_and_observation_share_one_visit(runtime: Runtime) -> None:
    def at_visit(kind: str, key: str) -> OpenTask:
        return OpenTask(
            1, 1, key, kind, "INO-06", "coordinator",
            TODAY, TODAY + timedelta(days=1), TODAY + timedelta(days=1), NOON, None, None,
        )  # fmt: skip

    for seed in range(40):
        clinic = Clinic(runtime, seed=seed)
        visit = {
            clinic.fate(at_visit(kind, f"p1:{kind}:c1d1"))
            for kind in ("dose", "premedication", "post_infusion_observation")
        }
        assert len(visit) == 1


def test_patients_are_referred_across_the_simulated_months() -> None:
    spread = arrivals(TODAY - timedelta(days=90), TODAY)
    days = sorted(spread)
    assert sum(len(v) for v in spread.values()) == 25
    assert days[0] == TODAY - timedelta(days=90) and days[-1] < TODAY
    assert (days[-1] - days[0]).days > 80


def test_months_of_clinic_days(runtime: Runtime, engine: Engine, tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "reminders")
    rt = Runtime(**{**runtime.__dict__, "channels": {"file": sink}})
    with use_runtime(rt):
        days: list[date] = []
        tally = simulate_clinic(
            first_day=TODAY - timedelta(days=30), now=NOON, seed=11, on_day_done=days.append
        )
    assert days == [TODAY - timedelta(days=30 - i) for i in range(30)]  # the progress bar's
    assert tally["days"] == 30 and tally["admitted"] == 25
    assert tally["completed_on_time"] > tally["completed_late"] > 0
    # the fake engine's checks ask for the "cbc" panel: its tests, from the lab catalogue
    assert tally["lab_results"] > 0
    assert tally["planned"]["created"] > 0 and tally["escalated"]["escalated"] > 0
    assert tally["dispatched"]["sent"] > 0
    files = list((tmp_path / "reminders").rglob("*.json"))
    assert len(files) == tally["dispatched"]["sent"]
    with engine.connect() as conn:
        overdue = conn.execute(
            text("SELECT count(*) FROM care_task WHERE status = 'requested' AND due <= :now"),
            {"now": NOON},
        ).scalar_one()
        completed = conn.execute(
            text("SELECT count(*) FROM care_task WHERE status = 'completed'")
        ).scalar_one()
        months = conn.execute(
            text("SELECT DISTINCT period_start FROM adherence_snapshot ORDER BY 1")
        ).scalars()
        months = list(months)
    assert overdue > 0  # some tasks were missed
    assert completed == tally["completed_on_time"] + tally["completed_late"]
    # The nightly adherence run settled every month the simulation crossed, and today's
    # (its first run also looks back over the months before, which have no snapshot yet).
    crossed = {(TODAY - timedelta(days=30)).replace(day=1), TODAY.replace(day=1)}
    assert crossed <= set(months) and max(months) == TODAY.replace(day=1)
    assert tally["adherence_snapshots"] == len(months)
