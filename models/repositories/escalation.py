"""Overdue tasks: the "overdue" reminder, and escalation to the next role after a grace.

Both are set-based statements over the open tasks past their edge, and each
writes its reminders to the outbox in the same transaction as the change it
reminds about. An escalation moves the task to the next role of the ladder
(coordinator → clinician) at most once per level: the UPDATE's guard names the
role it escalates from, and the next level's grace runs from the previous
escalation, so a re-run or a concurrent run finds nothing left to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from models.repositories.audit import Actor, record_many
from models.repositories.planning import OPEN_STATUSES, Route, queue_reminders
from pathways.definition import shipped_definition
from pathways.engine import Policy, escalation_grace_hours

DEFAULT_LADDER = ("coordinator", "clinician")


def shipped_grace_hours() -> dict[str, float]:
    """The definition's [DEFAULT] ``escalation_grace_hours`` as shipped (the shell passes its own)."""
    return escalation_grace_hours(Policy(shipped_definition()))


@dataclass(frozen=True)
class EscalationPolicy:
    """Who a task escalates to, and after how many hours past due (operational policy)."""

    ladder: tuple[str, ...] = DEFAULT_LADDER
    # Keys, most specific first: "kind:<kind>", "safety", "role:<role>", "default" (required;
    # the loader refuses a definition or policy without it).
    grace_hours: Mapping[str, float] = field(default_factory=shipped_grace_hours)

    def grace_for(self, *, kind: str, role: str, safety: bool) -> float:
        for key in (f"kind:{kind}", "safety" if safety else None, f"role:{role}"):
            if key is not None and key in self.grace_hours:
                return float(self.grace_hours[key])
        return float(self.grace_hours["default"])


@dataclass
class EscalationCounts:
    overdue_reminders: int = 0
    escalated: int = 0
    escalation_reminders: int = 0
    patients: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "overdue_reminders": self.overdue_reminders,
            "escalated": self.escalated,
            "escalation_reminders": self.escalation_reminders,
        }


def _grace_case(policy: EscalationPolicy) -> tuple[str, dict[str, Any]]:
    """A CASE over ``t`` giving each task's grace in hours, in the policy's order of precedence."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    kinds = [
        (k.removeprefix("kind:"), v) for k, v in policy.grace_hours.items() if k.startswith("kind:")
    ]
    for i, (kind, hours) in enumerate(kinds):
        clauses.append(f"WHEN t.kind = :gk{i} THEN CAST(:gkh{i} AS float8)")
        params[f"gk{i}"], params[f"gkh{i}"] = kind, float(hours)
    if "safety" in policy.grace_hours:
        clauses.append("WHEN t.safety THEN CAST(:gs AS float8)")
        params["gs"] = float(policy.grace_hours["safety"])
    roles = [
        (k.removeprefix("role:"), v) for k, v in policy.grace_hours.items() if k.startswith("role:")
    ]
    for i, (role, hours) in enumerate(roles):
        clauses.append(f"WHEN t.role_queue = :gr{i} THEN CAST(:grh{i} AS float8)")
        params[f"gr{i}"], params[f"grh{i}"] = role, float(hours)
    params["gd"] = float(policy.grace_hours["default"])
    if not clauses:
        return "CAST(:gd AS float8)", params
    return f"(CASE {' '.join(clauses)} ELSE CAST(:gd AS float8) END)", params


def queue_overdue_reminders(
    session: Session, *, now: datetime, routes: Sequence[Route], actor: Actor
) -> int:
    """One "overdue" reminder per open task past its due instant (once per task and due)."""
    if not routes:
        return 0
    overdue = session.execute(
        text(
            "SELECT t.id, t.patient_id FROM care_task t "
            "WHERE t.status = ANY(:open) AND t.due <= :now AND NOT EXISTS ("
            "  SELECT 1 FROM reminder r WHERE r.task_id = t.id AND r.reason = 'overdue')"
        ),
        {"open": OPEN_STATUSES, "now": now},
    ).all()
    if not overdue:
        return 0
    queued = queue_reminders(
        session,
        reason="overdue",
        where="t.id = ANY(%(ids)s)",
        params={"ids": [r.id for r in overdue]},
        now=now,
        routes=routes,
    )
    record_many(
        session,
        actor=actor,
        action="remind",
        entity="care_task",
        patient_ids=sorted({r.patient_id for r in overdue}),
        detail={"reason": "overdue"},
    )
    return queued


def escalate(
    session: Session,
    *,
    now: datetime,
    policy: EscalationPolicy,
    routes: Sequence[Route],
    actor: Actor,
) -> EscalationCounts:
    """Move open tasks past due + grace one step up the ladder, recording it on the task."""
    counts = EscalationCounts()
    grace, params = _grace_case(policy)
    for from_role, to_role in zip(policy.ladder, policy.ladder[1:], strict=False):
        rows = session.execute(
            text(
                "UPDATE care_task t SET role_queue = CAST(:to_role AS text), "  # noqa: S608
                "escalation_level = t.escalation_level + 1, escalated_at = :now, updated_at = :now, "
                "escalations = COALESCE(t.escalations, '[]'::jsonb) || jsonb_build_array(jsonb_build_object("
                "  'level', t.escalation_level + 1, 'from', t.role_queue, 'to', CAST(:to_role AS text), "
                f"  'at', CAST(:now AS timestamptz), 'due', t.due, 'grace_hours', {grace}, "
                "  'by', CAST(:actor AS text))) "
                "WHERE t.status = ANY(:open) AND t.role_queue = :from_role "
                f"AND COALESCE(t.escalated_at, t.due) + {grace} * interval '1 hour' <= :now "
                "RETURNING t.id, t.patient_id"
            ),
            {
                **params,
                "open": OPEN_STATUSES,
                "from_role": from_role,
                "to_role": to_role,
                "now": now,
                "actor": actor.name,
            },
        ).all()
        if not rows:
            continue
        counts.escalated += len(rows)
        counts.patients.extend(r.patient_id for r in rows)
        counts.escalation_reminders += queue_reminders(
            session,
            reason="escalation",
            key_reason="'escalation' || t.escalation_level",
            where="t.id = ANY(%(ids)s)",
            params={"ids": [r.id for r in rows]},
            now=now,
            routes=routes,
        )
    if counts.patients:
        record_many(
            session,
            actor=actor,
            action="escalate",
            entity="care_task",
            patient_ids=sorted(set(counts.patients)),
        )
    return counts
