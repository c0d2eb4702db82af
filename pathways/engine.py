"""The door: the one place the flows, the web and the CLI ask the clinical core.

``evaluate`` runs every part of the engine on one ``CaseFacts`` with one
``Policy`` (so the defaults used by all parts are recorded together) and
returns an ``Evaluation``; ``evaluation_document`` turns it into the public
``carepath.evaluation/1`` JSON shape of CASE-FORMAT.md. The flows call the
parts they need (``plan``, ``monitor``, ``classify``) to plan 100,000
patients without building documents, and ask here which alert or assessment
becomes a review task and when it falls due (``review_task_for``,
``signature_task_for``: the hours are [DEFAULT]s of the definition).

Code outside ``pathways`` imports this module, ``pathways.core`` and the
plain value modules (vocabulary, facts, decisions, errors, clock, the
definition) and nothing else (``tests/test_import_contracts.py``). So the
door also hands out what the layers above take from the engine without
asking it to decide:

- the input adapters at the doors: the case file (``parse_case``,
  ``parse_case_text``, ``decode_case``), the patient limits of the intake and
  the forms, the contradictions of a set of facts;
- the alerts' identity (``alert_fingerprint``, ``is_new``), by which the
  results flow raises an alert once;
- the adherence indicators of a definition (``indicators_of``), which
  ``models`` computes in SQL and the adherence report shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pathways.alert_identity import RaisedBefore, alert_fingerprint, is_new, repeat_after_days
from pathways.casefile import decode_case, parse_case, parse_case_text
from pathways.consistency import Contradiction, contradictions, signature_contradictions
from pathways.course_watch import course_runs_in
from pathways.decisions import (
    Alert,
    DoseSuggestion,
    InductionAdvice,
    PlannedTask,
    ResponseSuggestion,
    ReviewTask,
)
from pathways.facts import CaseFacts
from pathways.indicators import (
    CONDITIONS,
    Evidence,
    Indicator,
    TaskFilter,
    indicator,
    indicators_of,
)
from pathways.model import DefaultSetting, Definition
from pathways.monitoring import evaluate_monitoring
from pathways.next_steps import NextStep, next_steps
from pathways.patient_limits import (
    ADOLESCENT_ALERT,
    AGE_RULES,
    PatientLimits,
    adolescent_alert_message,
    age_years,
    body_problems,
)
from pathways.policy import Policy
from pathways.response import classify_response
from pathways.review import alert_review, escalation_grace_hours, signature_review
from pathways.schedules import infer_phase, plan_tasks
from pathways.selection import select_induction
from pathways.vocab import Phase

__all__ = [
    "ADOLESCENT_ALERT",
    "AGE_RULES",
    "CONDITIONS",
    "EVALUATION_FORMAT",
    "Contradiction",
    "Evaluation",
    "Evidence",
    "Indicator",
    "NextStep",
    "PatientLimits",
    "Policy",
    "RaisedBefore",
    "ReviewTask",
    "TaskFilter",
    "adolescent_alert_message",
    "advise",
    "age_years",
    "alert_fingerprint",
    "body_problems",
    "classify",
    "contradictions",
    "course_runs_in",
    "decode_case",
    "escalation_grace_hours",
    "evaluate",
    "evaluation_document",
    "indicator",
    "indicators_of",
    "is_new",
    "monitor",
    "next_step_document",
    "parse_case",
    "parse_case_text",
    "pending_steps",
    "plan",
    "repeat_after_days",
    "review_task_for",
    "signature_contradictions",
    "signature_task_for",
]

EVALUATION_FORMAT = "carepath.evaluation/1"
# Which alert becomes a review task and when it is due; which assessment a signature task.
review_task_for = alert_review
signature_task_for = signature_review


def plan(facts: CaseFacts, definition: Definition, policy: Policy) -> list[PlannedTask]:
    """The patient's planned tasks in the horizon (``pathways.schedules``)."""
    return plan_tasks(facts, definition, policy)


def monitor(facts: CaseFacts, definition: Definition, policy: Policy) -> list[Alert]:
    """The monitoring alerts today's facts support (``pathways.monitoring``)."""
    return evaluate_monitoring(facts, definition, policy)


def classify(facts: CaseFacts, policy: Policy) -> ResponseSuggestion | None:
    """DEF-15's suggested category of the latest assessment; a clinician signs it."""
    return classify_response(facts, policy)


def advise(facts: CaseFacts, definition: Definition, policy: Policy) -> InductionAdvice:
    """The induction options, listed and never ranked (IND-06a)."""
    return select_induction(facts, definition, policy)


def pending_steps(facts: CaseFacts, definition: Definition, policy: Policy) -> list[NextStep]:
    """Steps waiting on the signature of the latest assessment (POST-01: the HCT referral)."""
    return next_steps(facts, definition, policy, classify_response(facts, policy))


@dataclass(frozen=True)
class Evaluation:
    definition: Definition
    facts: CaseFacts
    phase: Phase
    phase_inferred: bool
    induction: InductionAdvice
    response: ResponseSuggestion | None
    tasks: list[PlannedTask]
    alerts: list[Alert]
    defaults_used: list[DefaultSetting]
    # Steps waiting on a decision not taken yet (POST-01 after the signed response).
    next_steps: list[NextStep]


def evaluate(facts: CaseFacts, definition: Definition) -> Evaluation:
    policy = Policy(definition)
    phase = infer_phase(facts)
    inferred = facts.phase is None
    induction = select_induction(facts, definition, policy)
    response = classify_response(facts, policy)
    tasks = plan_tasks(facts, definition, policy)
    alerts = evaluate_monitoring(facts, definition, policy)
    steps = next_steps(facts, definition, policy, response)
    return Evaluation(
        definition=definition,
        facts=facts,
        phase=phase,
        phase_inferred=inferred,
        induction=induction,
        response=response,
        tasks=tasks,
        alerts=alerts,
        defaults_used=policy.used_settings(),
        next_steps=steps,
    )


def _dose(dose: DoseSuggestion) -> dict[str, Any]:
    document: dict[str, Any] = {"value": dose.value, "unit": dose.unit, "basis": dose.basis}
    if dose.bsa_m2 is not None:
        document["bsa_m2"] = dose.bsa_m2
        document["bsa_formula"] = dose.bsa_formula
    if dose.calculated_mg is not None:
        document["calculated"] = dose.calculated_mg
        document["calculated_unit"] = dose.calculated_unit
    document["released"] = dose.released
    document["rule_ids"] = list(dose.rule_ids)
    if dose.note:
        document["note"] = dose.note
    return document


def _task(task: PlannedTask) -> dict[str, Any]:
    document: dict[str, Any] = {
        "key": task.key,
        "kind": task.kind.value,
        "title": task.title,
        "rule_id": task.rule_id,
        "section": task.section,
        "role": task.role.value,
        "due": task.due_date.isoformat(),
        "window_start": task.window_start.isoformat(),
        "window_end": task.window_end.isoformat(),
        "not_before": task.not_before.isoformat(),
        "due_at": task.due.isoformat(),
        "expires": task.expires.isoformat(),
        "safety": task.safety,
    }
    for name in ("regimen", "cycle", "day", "panel", "blocks"):
        value = getattr(task, name)
        if value is not None:
            document[name] = value
    if task.dose is not None:
        document["drug"] = task.dose.drug
        document["dose"] = _dose(task.dose)
    if task.result_fields:
        document["result_fields"] = list(task.result_fields)
    if task.defaults_used:
        document["defaults_used"] = list(task.defaults_used)
    if task.detail:
        document["detail"] = task.detail
    return document


def _alert(alert: Alert) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": alert.id,
        "severity": alert.severity.value,
        "rule_id": alert.rule_id,
        "rule_ids": list(alert.rule_ids or (alert.rule_id,)),
        "message": alert.message,
        "role": alert.role.value,
        "inputs": alert.inputs,
    }
    if alert.at is not None:
        document["at"] = alert.at.isoformat()
    return document


def next_step_document(step: NextStep) -> dict[str, Any]:
    return {
        "id": step.id,
        "title": step.title,
        "kind": step.kind.value,
        "role": step.role.value,
        "rule_ids": list(step.rule_ids),
        "after": step.after,
        "within_days": step.within_days,
    }


def _induction(advice: InductionAdvice) -> dict[str, Any]:
    return {
        "branch": advice.branch,
        "options": [
            {"id": o.id, "rule_ids": list(o.rule_ids)}
            | ({"note": o.note} if o.note else {})
            | ({"warnings": list(o.warnings)} if o.warnings else {})
            for o in advice.options
        ],
        "excluded": [
            {"id": e.id, "reason": e.reason, "rule_ids": list(e.rule_ids)} for e in advice.excluded
        ],
        "overlays": [
            {"id": o.id, "rule_ids": list(o.rule_ids)}
            | ({"message": o.message} if o.message else {})
            for o in advice.overlays
        ],
        "rule_ids": list(advice.rule_ids),
        "missing": list(advice.missing),
        "alternative_branches": list(advice.alternative_branches),
        "ranked": False,
    }


def _response(response: ResponseSuggestion | None) -> dict[str, Any] | None:
    if response is None:
        return None
    return {
        "category": response.category.value,
        "requires_signature": response.requires_signature,
        "rule_ids": list(response.rule_ids),
        "reasons": list(response.reasons),
        "labels": list(response.labels),
        "provisional": response.provisional,
    }


def evaluation_document(evaluation: Evaluation) -> dict[str, Any]:
    """The ``carepath.evaluation/1`` document of CASE-FORMAT.md (plus documented extra fields)."""
    d = evaluation.definition
    return {
        "format": EVALUATION_FORMAT,
        "pathway": {"name": d.name, "version": d.version},
        "as_of": evaluation.facts.as_of.isoformat(),
        "timezone": evaluation.facts.timezone,
        "phase": evaluation.phase.value,
        "phase_inferred": evaluation.phase_inferred,
        "induction": _induction(evaluation.induction),
        "response": _response(evaluation.response),
        "tasks": [_task(t) for t in evaluation.tasks],
        "alerts": [_alert(a) for a in evaluation.alerts],
        "next_steps": [next_step_document(s) for s in evaluation.next_steps],
        "defaults_used": [
            {
                "name": s.name,
                "value": s.value,
                "tag": s.tag,
                "local_policy": s.is_local_policy,
                "overridden": s.overridden,
                "rule_ids": list(s.rule_ids),
                "basis": s.basis,
            }
            for s in evaluation.defaults_used
        ],
        "notice": (
            "Suggestions for a clinician to confirm: options are not ranked, categories "
            "need a signature, doses are arithmetic for pharmacist checking, never released."
        ),
    }
