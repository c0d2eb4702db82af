"""What an alert-review task's page shows of the alerts it decides on.

Each alert with the values that raised it, the ULN or limit the rule used and
where that limit came from, the rule's text and its source section (RULES.md
through the definition's rules catalogue), and whether the decision has
acknowledged it yet: completing the task acknowledges them all
(``alerts.acknowledge_task_alerts``), so task and alert never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from carepath.web.format import number
from models.task import CareTask, ClinicalAlert
from pathways.core.labs import LABORATORY, LabCatalogue, Limit
from pathways.definition import Definition, RuleInfo


@dataclass(frozen=True, slots=True)
class ResultLine:
    test: str
    value: str
    limits: list[str]
    at: str


@dataclass
class AlertLine:
    alert: ClinicalAlert
    rules: list[RuleInfo]
    results: list[ResultLine] = field(default_factory=list)
    other_inputs: dict[str, Any] = field(default_factory=dict)


def _limit(entry: dict[str, Any], name: str, labs: LabCatalogue, unit: str) -> str | None:
    if entry.get(name) is None:
        return None
    source = entry.get(f"{name}_source", LABORATORY)
    test = labs.tests.get(str(entry.get("test")))
    setting = entry.get(f"{name}_setting")
    overridden = bool(test and getattr(test, name) and getattr(test, name).overridden)
    limit = Limit(float(entry[name]), source, setting, overridden)
    return f"{name.upper()} {number(limit.value, unit)}: {limit.description}"


def _result(entry: dict[str, Any], labs: LabCatalogue) -> ResultLine:
    test = labs.tests.get(str(entry.get("test")))
    unit_code = str(entry.get("unit") or "")
    unit = unit_code if test is None else (test.unit(unit_code) or test.canonical).label
    limits = [x for x in (_limit(entry, n, labs, unit) for n in ("uln", "lln")) if x]
    return ResultLine(
        test=str(entry.get("test")) if test is None else test.label,
        value=number(entry.get("value"), unit),
        limits=limits,
        at=str(entry.get("at") or ""),
    )


def alert_lines(session: Session, task: CareTask, definition: Definition) -> list[AlertLine]:
    """The alerts routed to ``task`` (acknowledged or not), each explained."""
    alerts = session.execute(
        select(ClinicalAlert)
        .where(col(ClinicalAlert.task_id) == task.id)
        .order_by(col(ClinicalAlert.raised_at).desc())
    ).scalars()
    lines = []
    for a in alerts:
        inputs = dict(a.inputs or {})
        results = [_result(r, definition.labs) for r in inputs.pop("results", []) or []]
        for key in ("latest", "baseline"):
            if isinstance(inputs.get(key), dict) and "test" in inputs[key]:
                results.append(_result(inputs.pop(key), definition.labs))
        rule_ids = [a.rule_id, *((task.detail or {}).get("rule_ids") or [])]
        rules = [definition.rules[r] for r in dict.fromkeys(rule_ids) if r in definition.rules]
        lines.append(AlertLine(alert=a, rules=rules, results=results, other_inputs=inputs))
    return lines
