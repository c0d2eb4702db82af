"""An alert is raised once for a patient, a rule and its inputs — with the real engine and database.

The demo's revumenib patient (DEMO-008, posaconazole) gets a new lab result every
day for fifteen days: each result runs the whole patient through the monitoring
rules, and the REV-04 inhibitor alert for the unchanged medication list used to
be stored (and routed, and reminded) fifteen times. Now it is raised once; when
the inhibitor stops, the dose basis is restated and the return to the full dose
is raised, once each (REV-03, REV-04).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine, text

from flows.evaluate_results import evaluate_all
from flows.runtime import Runtime, engine_evaluator
from models.observation import ObservationCreate
from models.repositories.audit import Actor
from models.repositories.observations import add_observations
from models.session import transaction
from tests.flows.conftest import NOON

NURSE = Actor("nurse", "coordinator", "cli")


def demo_patient(engine: Engine, mrn: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT id FROM patient WHERE mrn = :m"), {"m": mrn}).scalar_one()
        )


def add_potassium(engine: Engine, pid: int, at: object) -> None:
    with transaction(engine) as session:
        add_observations(
            session,
            patient_id=pid,
            observations=[
                ObservationCreate(
                    code="potassium", value=4.1, unit="mmol/L", uln=5.1, observed_at=at
                )
            ],
            actor=NURSE,
        )


def alert_counts(engine: Engine, pid: int) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT code, count(*) FROM clinical_alert WHERE patient_id = :p GROUP BY code"),
            {"p": pid},
        ).all()
    return {code: int(n) for code, n in rows}


def test_an_unchanged_medication_list_raises_rev04_once_in_fifteen_days(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    # rule: REV-04, MON-14, REV-03
    rt = replace(runtime, evaluator=engine_evaluator)
    pid = demo_patient(engine, "DEMO-008")
    for day in range(15):
        now = NOON + timedelta(days=day)
        add_potassium(engine, pid, now - timedelta(hours=2))
        evaluate_all(rt, now=now)
    counts = alert_counts(engine, pid)
    assert counts["revumenib_strong_cyp3a4_inhibitor"] == 1
    assert counts["revumenib_dose_basis"] == 1
    with engine.connect() as conn:
        tasks = conn.execute(
            text(
                "SELECT count(*) FROM care_task WHERE patient_id = :p "
                "AND dedupe_key LIKE 'alert:%' AND detail->>'alert' = 'revumenib_strong_cyp3a4_inhibitor'"
            ),
            {"p": pid},
        ).scalar_one()
        fingerprints = conn.execute(
            text(
                "SELECT count(*) FROM clinical_alert WHERE patient_id = :p AND fingerprint IS NULL"
            ),
            {"p": pid},
        ).scalar_one()
    assert tasks == 1 and fingerprints == 0

    # The inhibitor stops: the dose basis is restated and the full dose surfaced, once each.
    stop_day = (NOON + timedelta(days=15)).date()
    with transaction(engine) as session:
        session.execute(
            text(
                "UPDATE medication SET stopped_on = :d WHERE patient_id = :p AND name = 'posaconazole'"
            ),
            {"d": stop_day, "p": pid},
        )
    for day in range(15, 18):
        now = NOON + timedelta(days=day)
        add_potassium(engine, pid, now - timedelta(hours=2))
        evaluate_all(rt, now=now)
    counts = alert_counts(engine, pid)
    assert counts["revumenib_dose_basis"] == 2
    assert counts["revumenib_cyp3a4_inhibitor_stopped"] == 1
    assert counts["revumenib_strong_cyp3a4_inhibitor"] == 1
    with engine.connect() as conn:
        latest = conn.execute(
            text(
                "SELECT inputs FROM clinical_alert WHERE patient_id = :p AND code = 'revumenib_dose_basis' "
                "ORDER BY raised_at DESC LIMIT 1"
            ),
            {"p": pid},
        ).scalar_one()
    assert latest["strong_cyp3a4_inhibitor"] is False
