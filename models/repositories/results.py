"""New results in, review tasks out: the storage side of ``evaluate_results``.

New observations and response assessments are claimed with
``FOR UPDATE SKIP LOCKED`` and stamped ``evaluated_at`` in the transaction that
writes what the engine made of them, so two runs never evaluate one result
twice and a failed run leaves them for the next. An alert is raised once per
patient, alert id and triggering inputs (``pathways.alert_identity``); a new
alert becomes a clinician-review task in the alert's queue
carrying the values that triggered it. A response classification becomes a
"sign the response" task: the suggestion is stored beside the assessment and
nothing else changes — a phase moves only when a clinician signs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session

from models.pathway import ResponseAssessmentRecord
from models.repositories.audit import Actor, record_many
from models.repositories.plan_rows import jsonable
from models.repositories.reminders import Route, queue_reminders
from models.sql import rows_touched, table_of
from models.task import CareTask, ClinicalAlert
from models.task_sql import OPEN_LIST as OPEN_STATUSES
from models.task_sql import OPEN_SQL as OPEN_STATUSES_SQL
from models.task_sql import completed_sql
from pathways.clock import local_date
from pathways.core.window import TaskWindow
from pathways.decisions import Alert, ResponseSuggestion, ReviewTask
from pathways.engine import RaisedBefore, alert_fingerprint, is_new
from pathways.vocab import Severity, TaskKind, TaskStatus

ALERT_PREFIX = "alert:"
RESPONSE_PREFIX = "resp:"


def sign_task_key(patient_id: int, assessment_id: int) -> str:
    """The dedupe key of the task asking a clinician to sign one assessment (RESP-04)."""
    return f"{RESPONSE_PREFIX}p{patient_id}:a{assessment_id}"


ALERT_LOCK_SPACE = 4_2001  # pg_advisory_xact_lock(space, patient id) while routing alerts

_TASKS = table_of(CareTask)
_ALERTS = table_of(ClinicalAlert)


@dataclass(frozen=True, slots=True)
class NewObservation:
    id: int
    patient_id: int
    code: str
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class NewAssessment:
    """A response assessment nobody has evaluated yet (the row, without ORM state)."""

    id: int
    patient_id: int
    assessed_on: date
    signed: bool
    signed_by: str | None
    signed_at: datetime | None
    row: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    patient_id: int
    alert: Alert
    # The engine's decision: its review task's due, role and title (pathways.engine).
    review: ReviewTask
    observation_id: int | None = None
    # The alert's repeat interval from the patient's definition (None: only on new inputs).
    repeat_after_days: int | None = None


@dataclass(frozen=True, slots=True)
class SignatureRequest:
    patient_id: int
    assessment_id: int
    suggestion: ResponseSuggestion | None
    # The engine's "sign the response" task (pathways.engine.signature_task_for).
    review: ReviewTask


# Patients with an open data-problem task are held back (see claim_new_observations);
# the predicate is that of ix_care_task_open_problems, so the check is an index probe.
_NOT_HELD = (
    "NOT EXISTS (SELECT 1 FROM care_task t WHERE t.patient_id = x.patient_id "  # noqa: S608 (constants)
    "AND t.dedupe_key LIKE 'dq:%' AND t.status IN " + OPEN_STATUSES_SQL + ")"
)
_CLAIM_OBSERVATIONS_SQL = (
    "WITH c AS (SELECT id FROM observation x WHERE evaluated_at IS NULL AND "  # noqa: S608 (constants)
    + _NOT_HELD
    + " ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED) "
    "UPDATE observation o SET evaluated_at = :now FROM c WHERE o.id = c.id "
    "RETURNING o.id, o.patient_id, o.code, o.observed_at"
)
_CLAIM_ASSESSMENTS_SQL = (
    "WITH c AS (SELECT id FROM response_assessment x WHERE evaluated_at IS NULL AND "  # noqa: S608
    + _NOT_HELD
    + " ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED) "
    "UPDATE response_assessment a SET evaluated_at = :now FROM c WHERE a.id = c.id "
    "RETURNING a.*"
)


def claim_new_observations(
    session: Session, *, now: datetime, limit: int, actor: Actor
) -> list[NewObservation]:
    """Mark a batch of new results evaluated (to be evaluated in this transaction).

    A patient with an open data-problem task is skipped: their results wait,
    unevaluated, until the facts are corrected and planning resolves the task, so
    no result is ever marked evaluated without having been looked at.
    """
    rows = session.execute(
        text(_CLAIM_OBSERVATIONS_SQL),
        {"now": now, "limit": limit},
    ).all()
    claimed = [NewObservation(r.id, r.patient_id, r.code, r.observed_at) for r in rows]
    record_many(
        session,
        actor=actor,
        action="evaluate",
        entity="observation",
        patient_ids=sorted({o.patient_id for o in claimed}),
    )
    return sorted(claimed, key=lambda o: o.id)


def release_unevaluated(
    session: Session, *, observation_ids: Sequence[int], assessment_ids: Sequence[int]
) -> None:
    """Hand claimed rows back unevaluated (their patient could not be evaluated)."""
    if observation_ids:
        session.execute(
            text("UPDATE observation SET evaluated_at = NULL WHERE id = ANY(:ids)"),
            {"ids": list(observation_ids)},
        )
    if assessment_ids:
        session.execute(
            text("UPDATE response_assessment SET evaluated_at = NULL WHERE id = ANY(:ids)"),
            {"ids": list(assessment_ids)},
        )


def claim_new_assessments(
    session: Session, *, now: datetime, limit: int, actor: Actor
) -> list[NewAssessment]:
    rows = (
        session.execute(
            text(_CLAIM_ASSESSMENTS_SQL),
            {"now": now, "limit": limit},
        )
        .mappings()
        .all()
    )
    claimed = [
        NewAssessment(
            id=r["id"],
            patient_id=r["patient_id"],
            assessed_on=r["assessed_on"],
            signed=r["signed_category"] is not None and r["signed_at"] is not None,
            signed_by=r["signed_by"],
            signed_at=r["signed_at"],
            row=dict(r),
        )
        for r in rows
    ]
    record_many(
        session,
        actor=actor,
        action="evaluate",
        entity="response_assessment",
        patient_ids=sorted({a.patient_id for a in claimed}),
    )
    return sorted(claimed, key=lambda a: a.id)


def assessment_row(assessment: NewAssessment) -> ResponseAssessmentRecord:
    """The claimed row as a (detached) model, for the snapshot conversion to engine facts."""
    return ResponseAssessmentRecord.model_validate(assessment.row)


def match_observation(alert: Alert, observations: Sequence[NewObservation]) -> int | None:
    """The newest claimed observation whose code the alert names among its inputs, if any."""
    named = _codes(alert.inputs)
    matches = [o for o in observations if o.code in named]
    return max(matches, key=lambda o: (o.observed_at, o.id)).id if matches else None


def _codes(inputs: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(inputs, str):
        found.add(inputs)
    elif isinstance(inputs, Mapping):
        for key, value in inputs.items():
            found.add(str(key))
            found |= _codes(value)
    elif isinstance(inputs, (list, tuple)):
        for value in inputs:
            found |= _codes(value)
    return found


def alert_key(patient_id: int, alert: Alert, fingerprint: str, now: datetime) -> str:
    """One raising of a condition: the alert id, its inputs' fingerprint and the instant."""
    when = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    key = f"p{patient_id}:{alert.id}:{fingerprint[:16]}:{when}"
    if len(key) <= 190:
        return key
    digest = hashlib.blake2b(alert.id.encode(), digest_size=12).hexdigest()
    return f"p{patient_id}:#{digest}:{fingerprint[:16]}:{when}"


def _raised_before(
    session: Session, patient_ids: Sequence[int]
) -> dict[tuple[int, str], RaisedBefore]:
    """The last alert raised per (patient, alert id): its inputs' fingerprint and when."""
    return {
        (r.patient_id, r.code): RaisedBefore(r.fingerprint, r.raised_at)
        for r in session.execute(
            text(
                "SELECT DISTINCT ON (patient_id, code) patient_id, code, fingerprint, raised_at "
                "FROM clinical_alert WHERE patient_id = ANY(:pids) "
                "ORDER BY patient_id, code, raised_at DESC, id DESC"
            ),
            {"pids": list(patient_ids)},
        )
    }


def _lock_patients(session: Session, patient_ids: Sequence[int]) -> None:
    # Two evaluators may hold new results of one patient: the second waits here
    # for the first to commit, then sees its alerts and open task (ids in order).
    session.execute(
        text("SELECT pg_advisory_xact_lock(:space, pid) FROM unnest(CAST(:pids AS int[])) AS pid"),
        {"space": ALERT_LOCK_SPACE, "pids": sorted(patient_ids)},
    )


def record_alerts(
    session: Session,
    *,
    alerts: Sequence[RaisedAlert],
    now: datetime,
    timezone: str,
    routes: Sequence[Route],
    actor: Actor,
) -> tuple[int, int]:
    """Store the new alerts and route each to a review task; returns (new alerts, reminders queued).

    An alert is raised once per patient, alert id and triggering inputs
    (``pathways.alert_identity``): one whose inputs match the last one raised
    for the patient is not stored again, unless its repeat interval (in the
    definition) has passed. A new one gets a review task of its own unless one
    for the same alert is still open, in which case it is attached to that task
    as its latest occurrence, so the reviewer always sees the newest values.
    """
    if not alerts:
        return 0, 0
    fresh = _fresh_alerts(session, alerts, now=now, timezone=timezone)
    alert_ids = _insert_alerts(session, fresh, now=now)
    if not alert_ids:
        return 0, 0
    patient_ids = sorted({fresh[k][0].patient_id for k in alert_ids})
    open_tasks = _open_review_tasks(session, patient_ids)
    tasks, links = [], []
    for key, alert_id in sorted(alert_ids.items()):
        raised = fresh[key][0]
        detail = _alert_detail(raised, alert_id)
        existing = open_tasks.get((raised.patient_id, raised.alert.id))
        if existing is not None:
            links.append(_Link(alert_id, existing, json.dumps(detail)))
            continue
        tasks.append(
            _review_task(
                raised.review,
                patient_id=raised.patient_id,
                dedupe_key=ALERT_PREFIX + key,
                now=now,
                timezone=timezone,
                detail=detail,
            )
        )
    task_ids = _insert_tasks(session, tasks)
    _attach_alerts(session, sorted(alert_ids.values()), links, now=now)
    reminders = _remind(session, task_ids, now=now, routes=routes)
    record_many(
        session,
        actor=actor,
        action="alert",
        entity="clinical_alert",
        patient_ids=patient_ids,
    )
    return len(alert_ids), reminders


@dataclass(frozen=True, slots=True)
class _Link:
    """A new alert of a condition whose review task is still open: it joins that task."""

    alert_id: int
    task_id: int
    latest: str  # the alert's detail, JSON: the task shows the newest values


def _fresh_alerts(
    session: Session, alerts: Sequence[RaisedAlert], *, now: datetime, timezone: str
) -> dict[str, tuple[RaisedAlert, str]]:
    """The alerts to store, by dedupe key, with their inputs' fingerprint.

    One per patient and alert id (the first raised), and only if it is new
    against the last one raised (``pathways.alert_identity``); the patients are
    locked first, so a concurrent evaluator's alerts are seen.
    """
    first: dict[tuple[int, str], RaisedAlert] = {}
    for raised in alerts:
        first.setdefault((raised.patient_id, raised.alert.id[:60]), raised)
    _lock_patients(session, sorted({pid for pid, _ in first}))
    before = _raised_before(session, sorted({pid for pid, _ in first}))
    fresh: dict[str, tuple[RaisedAlert, str]] = {}
    for (pid, code), raised in first.items():
        if not is_new(
            raised.alert,
            before.get((pid, code)),
            now=now,
            timezone=timezone,
            repeat_days=raised.repeat_after_days,
        ):
            continue
        fingerprint = alert_fingerprint(raised.alert)
        fresh[alert_key(pid, raised.alert, fingerprint, now)] = (raised, fingerprint)
    return fresh


def _insert_alerts(
    session: Session, fresh: Mapping[str, tuple[RaisedAlert, str]], *, now: datetime
) -> dict[str, int]:
    """Insert the alerts (a key already stored is skipped); the new ones' ids by dedupe key."""
    if not fresh:
        return {}
    rows = [
        {
            "patient_id": raised.patient_id,
            "dedupe_key": key,
            "code": raised.alert.id[:60],
            "rule_id": raised.alert.rule_id[:16],
            "severity": Severity(raised.alert.severity).value,
            "message": raised.alert.message[:2000],
            "inputs": jsonable(dict(raised.alert.inputs)),
            "fingerprint": fingerprint,
            "observation_id": raised.observation_id,
            "raised_at": now,
        }
        for key, (raised, fingerprint) in sorted(fresh.items())
    ]
    stmt = pg_insert(_ALERTS).on_conflict_do_nothing(index_elements=["dedupe_key"])
    new = session.execute(stmt.returning(_ALERTS.c.id, _ALERTS.c.dedupe_key), rows).all()
    return {r.dedupe_key: r.id for r in new}


def _open_review_tasks(session: Session, patient_ids: list[int]) -> dict[tuple[int, str], int]:
    """The newest open review task of each (patient, alert id)."""
    return {
        (r.patient_id, r.code): r.id
        for r in session.execute(
            text(
                "SELECT DISTINCT ON (patient_id, detail->>'alert') id, patient_id, "
                "detail->>'alert' AS code FROM care_task "
                "WHERE patient_id = ANY(:pids) AND dedupe_key LIKE 'alert:%' AND status = ANY(:open) "
                "ORDER BY patient_id, detail->>'alert', id DESC"
            ),
            {"pids": patient_ids, "open": OPEN_STATUSES},
        )
    }


def _alert_detail(raised: RaisedAlert, alert_id: int) -> dict[str, Any]:
    """What the review task shows of its alert: the values that triggered it."""
    a = raised.alert
    detail: dict[str, Any] = jsonable(
        {
            "alert_id": alert_id,
            "alert": a.id,
            "severity": Severity(a.severity).value,
            "message": a.message,
            "inputs": dict(a.inputs),
            "rule_ids": list(a.rule_ids),
            "at": a.at,
            "observation_id": raised.observation_id,
        }
    )
    return detail


def _attach_alerts(
    session: Session, alert_ids: list[int], links: Sequence[_Link], *, now: datetime
) -> None:
    """Each new alert names its review task: its own new one, or the open one it joined."""
    session.execute(
        text(
            "UPDATE clinical_alert a SET task_id = t.id FROM care_task t "
            "WHERE a.id = ANY(:ids) AND t.dedupe_key = :prefix || a.dedupe_key"
        ),
        {"ids": alert_ids, "prefix": ALERT_PREFIX},
    )
    for link in links:
        session.execute(
            text(
                "UPDATE care_task SET detail = detail || jsonb_build_object('latest', "
                "CAST(:latest AS jsonb)), updated_at = :now WHERE id = :task"
            ),
            {"task": link.task_id, "latest": link.latest, "now": now},
        )
        session.execute(
            text("UPDATE clinical_alert SET task_id = :task WHERE id = :alert"),
            {"task": link.task_id, "alert": link.alert_id},
        )


def request_signatures(
    session: Session,
    *,
    requests: Sequence[SignatureRequest],
    now: datetime,
    timezone: str,
    routes: Sequence[Route],
    actor: Actor,
) -> tuple[int, int]:
    """Store each suggestion beside its assessment and ask a clinician to sign; (tasks, reminders)."""
    if not requests:
        return 0, 0
    for req in requests:
        s = req.suggestion
        session.execute(
            text(
                "UPDATE response_assessment SET suggested_category = :category, "
                "suggestion = CAST(:suggestion AS jsonb) WHERE id = :id AND signed_at IS NULL"
            ),
            {
                "id": req.assessment_id,
                "category": None if s is None else s.category.value,
                "suggestion": None if s is None else json.dumps(jsonable(s)),
            },
        )
    tasks = [
        _review_task(
            req.review,
            patient_id=req.patient_id,
            dedupe_key=sign_task_key(req.patient_id, req.assessment_id),
            now=now,
            timezone=timezone,
            detail=jsonable(
                {
                    "assessment_id": req.assessment_id,
                    "suggested_category": None
                    if req.suggestion is None
                    else req.suggestion.category.value,
                    "suggestion": req.suggestion,
                    "note": "the software suggests; a clinician signs (DEF-15, RESP-04)",
                }
            ),
        )
        for req in requests
    ]
    task_ids = _insert_tasks(session, tasks)
    reminders = _remind(session, task_ids, now=now, routes=routes)
    record_many(
        session,
        actor=actor,
        action="suggest",
        entity="response_assessment",
        patient_ids=sorted({r.patient_id for r in requests}),
    )
    return len(task_ids), reminders


def close_signed(session: Session, *, signed: Sequence[NewAssessment], now: datetime) -> int:
    """A signature completes the patient's open "sign the response" tasks."""
    closed = 0
    for a in signed:
        result = session.execute(
            text(_CLOSE_SIGNED_SQL),
            {
                "pid": a.patient_id,
                "at": a.signed_at or now,
                "by": (a.signed_by or "clinician")[:120],
                "now": now,
                "open": OPEN_STATUSES,
            },
        )
        closed += rows_touched(result)
    return closed


_CLOSE_SIGNED_SQL = (
    "UPDATE care_task SET "  # noqa: S608 (constants)
    + completed_sql(at=":at", by=":by", updated_at=":now")
    + ", status_reason = 'signed' "
    "WHERE patient_id = :pid AND dedupe_key LIKE 'resp:%' AND status = ANY(:open)"
)


def _review_task(
    review: ReviewTask,
    *,
    patient_id: int,
    dedupe_key: str,
    now: datetime,
    timezone: str,
    detail: dict[str, Any],
) -> dict[str, Any]:
    # The engine's window for it (pathways.review): open now, due and expiring as it decided.
    window = TaskWindow(not_before=now, due=review.due, expires=review.expires)
    return {
        "patient_id": patient_id,
        "dedupe_key": dedupe_key[:200],
        "pathway_version": "",
        "kind": TaskKind.CLINICIAN_REVIEW.value,
        "rule_id": review.rule_id[:16],
        "title": review.title[:240],
        "section": review.section,
        "window_start": local_date(window.not_before, timezone),
        "due_date": local_date(window.due, timezone),
        "window_end": local_date(window.expires, timezone),
        "not_before": window.not_before,
        "due": window.due,
        "expires": window.expires,
        "safety": review.safety,
        "status": TaskStatus.REQUESTED.value,
        "role_queue": review.role.value,
        "escalation_level": 0,
        "detail": detail,
        # For an alert, the clinician's decision: completing the task acknowledges it.
        "result_fields": list(review.result_fields) or None,
        "plan_hash": hashlib.blake2b(dedupe_key.encode(), digest_size=16).hexdigest(),
        "planned_at": now,
        "created_at": now,
        "updated_at": now,
    }


def _insert_tasks(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    rows = sorted({r["dedupe_key"]: r for r in rows}.values(), key=lambda r: r["dedupe_key"])
    stmt = pg_insert(_TASKS).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return sorted(r.id for r in session.execute(stmt.returning(_TASKS.c.id), rows))


def _remind(
    session: Session, task_ids: list[int], *, now: datetime, routes: Sequence[Route]
) -> int:
    if not task_ids:
        return 0
    return queue_reminders(
        session,
        reason="due",
        where="t.id = ANY(%(ids)s) AND t.status = ANY(%(open)s)",
        params={"ids": task_ids, "open": OPEN_STATUSES},
        now=now,
        routes=routes,
    )
