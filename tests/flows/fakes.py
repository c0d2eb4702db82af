"""A stand-in engine for flow tests: the flows must be testable without the clinical engine.

The fakes follow the engine's signatures and contracts (stable keys that do
not depend on ``as_of``, aware windows in the clinic's zone, a horizon of
[as_of - 14 d, as_of + 90 d]) and nothing of its clinical content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from models.repositories.outbox import OutboundMessage
from pathways.clock import end_of_day, start_of_day
from pathways.decisions import Alert, PlannedTask, ResponseSuggestion
from pathways.definition import Definition
from pathways.facts import CaseFacts
from pathways.policy import Policy
from pathways.vocab import ResponseCategory, Role, Severity, TaskKind


def fake_planner(facts: CaseFacts, definition: Definition, policy: Policy) -> list[PlannedTask]:
    """A weekly check from the course anchor (or the r/r diagnosis), alternating queues."""
    anchor = facts.treatment.cycle_start if facts.treatment else facts.history.dx_date
    anchor = anchor or date(2026, 1, 5)
    tz = facts.timezone
    tasks = []
    for k in range(60):
        day = anchor + timedelta(days=7 * k)
        if not (facts.as_of - timedelta(days=14) <= day <= facts.as_of + timedelta(days=90)):
            continue
        tasks.append(
            PlannedTask(
                key=f"fake:{facts.phase}:{k}",
                kind=TaskKind.LAB_PANEL,
                rule_id="MON-03",
                title=f"Weekly check {k}",
                role=Role.COORDINATOR if k % 2 == 0 else Role.CLINICIAN,
                window_start=day - timedelta(days=1),
                due_date=day,
                window_end=day + timedelta(days=2),
                not_before=start_of_day(day - timedelta(days=1), tz),
                due=end_of_day(day, tz),
                expires=end_of_day(day + timedelta(days=2), tz),
                section="test",
                safety=k % 3 == 0,
                result_fields=("cbc",),
                detail={"k": k, "anchor": anchor},
            )
        )
    return tasks


def fake_evaluator(facts: CaseFacts, definition: Definition, policy: Policy) -> list[Alert]:
    """Like the engine: an alert id names a condition; the latest result of each test decides."""
    latest = {}
    for lab in sorted(facts.labs, key=lambda lab: lab.at):
        latest[lab.test] = lab
    return [
        Alert(
            id=f"{lab.test}_above_uln",
            severity=Severity.CRITICAL if lab.value > 3 * lab.uln else Severity.WARNING,
            rule_id="MON-05",
            message=f"{lab.test} above ULN",
            role=Role.CLINICIAN,
            inputs={"test": lab.test, "value": lab.value, "uln": lab.uln},
            at=lab.at,
        )
        for lab in latest.values()
        if lab.uln is not None and lab.value > lab.uln
    ]


def fake_classifier(facts: CaseFacts, policy: Policy) -> ResponseSuggestion | None:
    ra = facts.response_assessment
    if ra is None or ra.marrow_blast_pct is None:
        return None
    category = ResponseCategory.CR if ra.marrow_blast_pct < 5 else ResponseCategory.NOT_IN_REMISSION
    return ResponseSuggestion(category=category, reasons=("fake",), rule_ids=("DEF-15",))


@dataclass
class RecordingChannel:
    """A channel that keeps what it was asked to send; ``fail`` makes it raise."""

    name: str = "file"
    sent: list[OutboundMessage] = field(default_factory=list)
    fail: Exception | None = None
    closed: int = 0

    def send(self, message: OutboundMessage) -> str | None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(message)
        return "recorded"

    def close(self) -> None:
        self.closed += 1


def rebuild_fake_runtime(database_url: str, broken: bool = False):  # type: ignore[no-untyped-def]
    """The flow tests' runtime built again inside a planning worker process (picklable by name)."""
    from flows.runtime import Runtime
    from models.session import engine_for
    from pathways.definition import load_definition
    from tests.flows.conftest import NOON, ROUTES, TZ

    if broken:
        raise RuntimeError("this worker cannot start")
    definition = load_definition()
    return Runtime(
        engine=engine_for(database_url),
        timezone=TZ,
        definition=lambda version: definition,
        clock=lambda: NOON,
        batch_size=10,
        planner=fake_planner,
        routes=ROUTES,
    )
