"""evaluate_results: new lab results and response assessments, through the engine, into review tasks.

The story: claim a batch of results nobody has evaluated, load their patients
as snapshots, run the monitoring rules (alerts) and the response
classification (a suggestion), and write what came out — alerts as
clinician-review tasks carrying the triggering values, suggestions as "sign
the response" tasks — in the transaction that marks the results evaluated.

Nothing here changes a phase: a lab value or a computed category only ever
becomes a task for a clinician, whose signature (`carepath transition`, the
web page) is the one thing that moves a patient (RULES.md §10 rule 2).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime
from time import perf_counter
from types import SimpleNamespace
from typing import Any

from prefect import flow, get_run_logger
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from flows._tasks import io_task
from flows.jobs import run_for_period
from flows.runtime import Runtime, current_runtime
from models.repositories.audit import Actor
from models.repositories.data_problems import DataProblem, raise_data_problems
from models.repositories.results import (
    NewAssessment,
    NewObservation,
    RaisedAlert,
    SignatureRequest,
    claim_new_assessments,
    claim_new_observations,
    close_signed,
    match_observation,
    record_alerts,
    release_unevaluated,
    request_signatures,
)
from models.session import transaction
from models.snapshots import Snapshot, load_snapshots, response_assessment_from_row
from pathways.clock import local_date
from pathways.engine import Policy, repeat_after_days, review_task_for, signature_task_for
from pathways.vocab import Role

JOB = "evaluate_results"
ACTOR = Actor.system(JOB)
log = logging.getLogger("carepath.flows.evaluate_results")

COUNTS = (
    "observations",
    "assessments",
    "alerts",
    "signature_tasks",
    "signed",
    "reminders",
    "problems",
)


def evaluate_batch(rt: Runtime, *, now: datetime) -> dict[str, Any]:
    """Claim and evaluate one batch in one transaction; all counts zero when nothing was new."""
    started = perf_counter()
    as_of = local_date(now, rt.timezone)
    counts = dict.fromkeys(COUNTS, 0)
    with transaction(rt.engine) as session:
        claimed = _claim(session, rt, now=now)
        counts["observations"], counts["assessments"] = (
            len(claimed.observations),
            len(claimed.assessments),
        )
        if not claimed.observations and not claimed.assessments:
            return {**counts, "seconds": perf_counter() - started}
        snapshots, snapshot_problems = load_snapshots(
            session, patient_ids=claimed.patient_ids(), as_of=as_of, timezone=rt.timezone
        )
        problems = [
            DataProblem(p.patient_id, "snapshot", p.problem, Role.COORDINATOR)
            for p in snapshot_problems
        ]
        alerts, requests, refused = _evaluate_patients(rt, snapshots, claimed, now=now)
        problems += refused
        for p in snapshot_problems:
            log.warning(
                "evaluate_results: patient %d not evaluated (stored facts unusable)", p.patient_id
            )
        counts.update(_write_outcome(session, rt, alerts, requests, claimed.signed, now=now))
        if problems:
            _hold_back(session, claimed, problems, as_of=as_of, now=now)
            counts["problems"] = len(problems)
    return {**counts, "seconds": perf_counter() - started}


@dataclass(frozen=True, slots=True)
class _Claimed:
    """One batch of results nobody had evaluated, as the evaluation reads them."""

    observations: list[NewObservation]
    assessments: list[NewAssessment]
    by_patient: dict[int, list[NewObservation]]
    unsigned: dict[int, list[NewAssessment]]

    @property
    def signed(self) -> list[NewAssessment]:
        return [a for a in self.assessments if a.signed]

    def patient_ids(self) -> list[int]:
        """The patients to evaluate: new results, or an assessment still to sign."""
        return sorted(set(self.by_patient) | set(self.unsigned))


def _claim(session: Session, rt: Runtime, *, now: datetime) -> _Claimed:
    observations = claim_new_observations(session, now=now, limit=rt.batch_size, actor=ACTOR)
    assessments = claim_new_assessments(session, now=now, limit=rt.batch_size, actor=ACTOR)
    by_patient: dict[int, list[NewObservation]] = defaultdict(list)
    for o in observations:
        by_patient[o.patient_id].append(o)
    unsigned: dict[int, list[NewAssessment]] = defaultdict(list)
    for a in assessments:
        if not a.signed:
            unsigned[a.patient_id].append(a)
    return _Claimed(observations, assessments, by_patient, unsigned)


def _evaluate_patients(
    rt: Runtime, snapshots: list[Snapshot], claimed: _Claimed, *, now: datetime
) -> tuple[list[RaisedAlert], list[SignatureRequest], list[DataProblem]]:
    """Each patient through the engine; a patient the engine fails on becomes a data problem."""
    alerts: list[RaisedAlert] = []
    requests: list[SignatureRequest] = []
    problems: list[DataProblem] = []
    for snap in snapshots:
        pid = snap.patient_id
        try:
            raised, asked = _evaluate_patient(rt, snap, claimed, now=now)
        except (
            ImportError,
            SQLAlchemyError,
        ):  # a missing engine or a database fault: not one patient's
            raise
        except Exception as exc:  # one patient's facts must not stop the batch
            problems.append(
                DataProblem(pid, "engine", f"{type(exc).__name__}: {exc}", Role.CLINICIAN)
            )
            log.warning("evaluate_results: patient %d not evaluated (%s)", pid, type(exc).__name__)
            continue
        # Kept only when the whole patient evaluates.
        alerts += raised
        requests += asked
    return alerts, requests, problems


def _evaluate_patient(
    rt: Runtime, snap: Snapshot, claimed: _Claimed, *, now: datetime
) -> tuple[list[RaisedAlert], list[SignatureRequest]]:
    """The patient's alerts on its new results, and a signature request per unsigned assessment."""
    pid = snap.patient_id
    definition = rt.definition(snap.pathway_version)
    raised: list[RaisedAlert] = []
    if pid in claimed.by_patient:
        policy = Policy(definition)
        for alert in rt.evaluator(snap.facts, definition, policy):
            raised.append(
                RaisedAlert(
                    pid,
                    alert,
                    review_task_for(alert, now, policy),
                    match_observation(alert, claimed.by_patient[pid]),
                    repeat_after_days(alert, policy),
                )
            )
    asked = []
    for a in claimed.unsigned.get(pid, []):
        facts = replace(
            snap.facts,
            response_assessment=response_assessment_from_row(SimpleNamespace(**a.row)),
        )
        policy = Policy(definition)
        asked.append(
            SignatureRequest(
                pid,
                a.id,
                rt.classifier(facts, policy),
                signature_task_for(a.assessed_on, now, policy),
            )
        )
    return raised, asked


def _write_outcome(
    session: Session,
    rt: Runtime,
    alerts: list[RaisedAlert],
    requests: list[SignatureRequest],
    signed: list[NewAssessment],
    *,
    now: datetime,
) -> dict[str, int]:
    """Alerts as review tasks, suggestions as signature tasks; signatures close their tasks."""
    new_alerts, alert_reminders = record_alerts(
        session, alerts=alerts, now=now, timezone=rt.timezone, routes=rt.routes, actor=ACTOR
    )
    signature_tasks, sign_reminders = request_signatures(
        session, requests=requests, now=now, timezone=rt.timezone, routes=rt.routes, actor=ACTOR
    )
    return {
        "alerts": new_alerts,
        "signature_tasks": signature_tasks,
        "signed": close_signed(session, signed=signed, now=now),
        "reminders": alert_reminders + sign_reminders,
    }


def _hold_back(
    session: Session,
    claimed: _Claimed,
    problems: list[DataProblem],
    *,
    as_of: date,
    now: datetime,
) -> None:
    """The results of patients with a problem go back unevaluated, behind a data-problem task."""
    held = {p.patient_id for p in problems}
    release_unevaluated(
        session,
        observation_ids=[o.id for o in claimed.observations if o.patient_id in held],
        assessment_ids=[a.id for a in claimed.assessments if not a.signed and a.patient_id in held],
    )
    raise_data_problems(session, problems=problems, as_of=as_of, now=now)


def evaluate_all(rt: Runtime, *, now: datetime, batch: Any = None) -> dict[str, Any]:
    """Batches until nothing new is left; ``batch`` runs one (default: the plain core)."""
    run_batch = batch or (lambda: evaluate_batch(rt, now=now))
    totals: dict[str, Any] = dict.fromkeys(COUNTS, 0)
    totals["batches"] = 0
    while True:
        result = run_batch()
        if not result["observations"] and not result["assessments"]:
            return totals
        totals["batches"] += 1
        for name in COUNTS:
            totals[name] += result[name]


@io_task("evaluate-batch")
def evaluate_batch_task(now: datetime) -> dict[str, Any]:
    return evaluate_batch(current_runtime(), now=now)


@flow(name=JOB, log_prints=False)
def evaluate_results(now: datetime | None = None, period_key: str | None = None) -> dict[str, Any]:
    """Evaluate every lab result and response assessment recorded since the last run."""
    rt = current_runtime()
    clock = rt.at(None, now)

    def run() -> dict[str, Any]:
        return evaluate_all(rt, now=clock.now, batch=lambda: evaluate_batch_task(clock.now))

    stats = run_for_period(rt, job_name=JOB, period_key=period_key, body=run)
    if not stats.get("period_skipped"):
        get_run_logger().info(
            "evaluated %s results and %s assessments: %s alerts, %s signature tasks, %s problems",
            stats["observations"],
            stats["assessments"],
            stats["alerts"],
            stats["signature_tasks"],
            stats["problems"],
        )
    return stats
