"""Everything the patient page shows, gathered from the repositories and the engine.

The page is a read of patient data (audited by each repository it calls): the
facts, a timeline of phases from the phase events, courses with today's cycle
day, tasks in their windows, alerts, response assessments with the engine's
suggestion, the transitions a clinician may confirm, and lab charts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from markupsafe import Markup
from sqlmodel import Session

from carepath.web.charts import phase_strip
from carepath.web.engine import induction_advice, pending_steps, response_suggestion
from carepath.web.patient_header import Header, TaskGroup, group_tasks, header
from carepath.web.patient_labs import LabsView, load_labs, range_key
from models.pathway import Course, PathwayInstance, ResponseAssessmentRecord
from models.repositories.alerts import list_alerts
from models.repositories.audit import Actor
from models.repositories.courses import current_course, list_courses
from models.repositories.patients import PatientRecord, get_record
from models.repositories.responses import list_assessments
from models.repositories.tasks import list_patient_tasks
from models.repositories.users import display_names
from models.snapshots import load_snapshots
from models.task import CareTask, ClinicalAlert
from pathways.clock import day_number
from pathways.definition import Definition
from pathways.engine import NextStep
from pathways.facts import CaseFacts, CentreFacts
from pathways.vocab import OPEN_TASK_STATUSES

TRACK_COLUMNS = {"main": "phase", "cns": "cns_track", "testis": "testis_track"}


@dataclass(frozen=True, slots=True)
class PhaseSpan:
    phase: str
    title: str
    rule: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class CourseLine:
    course: Course
    cycle_day: int | None  # for the course in progress only
    current: bool = False


@dataclass(frozen=True, slots=True)
class EventChoice:
    track: str
    event: str
    title: str
    target: str
    rule_ids: tuple[str, ...]
    blocked_by: tuple[str, ...]
    # What its guards require, met or not (the sign form shows them before a category is chosen).
    requires: tuple[str, ...] = ()
    needs_signature: bool = False


@dataclass
class PatientPage:
    record: PatientRecord
    phase_title: str
    spans: list[PhaseSpan]
    courses: list[CourseLine]
    open_tasks: list[CareTask]
    closed_tasks: list[CareTask]
    # The people the page names (who completed a task, changed the phase, acknowledged
    # an alert, signed a response), by display name: user name -> name.
    people: dict[str, str]
    alerts: list[ClinicalAlert]
    assessments: list[ResponseAssessmentRecord]
    amended_ids: set[int]
    suggestion: dict[str, Any] | None
    suggestion_for: int | None
    events: list[EventChoice]
    labs: LabsView
    strip: Markup
    header: Header
    task_groups: list[TaskGroup]
    advice: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)
    # Steps waiting on the signature of the latest assessment (POST-01).
    next_steps: list[NextStep] = field(default_factory=list)

    def name_of(self, username: str | None) -> str:
        """The display name of a user name the page shows; a name that is no user's as it is."""
        return "" if username is None else self.people.get(username, username)

    @property
    def current(self) -> CourseLine | None:
        return next((c for c in self.courses if c.current), None)

    @property
    def sign_events(self) -> list[EventChoice]:
        """The main-line transitions a signed category opens (offered on the sign form)."""
        return [e for e in self.events if e.needs_signature and e.track == "main"]

    @property
    def open_alerts(self) -> list[ClinicalAlert]:
        """Unacknowledged alerts, most severe first, then newest: the page's header shows them."""
        rank = {"critical": 0, "warning": 1}
        waiting = [a for a in self.alerts if a.acknowledged_at is None]
        return sorted(
            waiting, key=lambda a: (rank.get(a.severity.value, 2), -a.raised_at.timestamp())
        )


def _spans(record: PatientRecord, definition: Definition) -> list[PhaseSpan]:
    states = definition.machines["main"].states
    main = [e for e in record.events if e.track == "main"]
    spans: list[PhaseSpan] = []
    for index, event in enumerate(main):
        end = main[index + 1].at if index + 1 < len(main) else None
        state = states.get(event.to_state, {})
        spans.append(
            PhaseSpan(
                phase=event.to_state,
                title=str(state.get("title", event.to_state)),
                rule=str(state.get("rule", "")),
                start=event.at,
                end=end,
            )
        )
    return spans


def load_page(
    session: Session,
    *,
    patient_id: int,
    actor: Actor,
    definition: Definition,
    today: date,
    now: datetime,
    tz: str,
    labs_range: str | None = None,
) -> PatientPage:
    # Each repository audits its own read; they run in the page's order.
    record = get_record(session, patient_id=patient_id, actor=actor)
    courses = _course_lines(list_courses(session, patient_id=patient_id), today)
    tasks = list_patient_tasks(session, patient_id=patient_id, actor=actor)
    open_tasks = [t for t in tasks if t.status in OPEN_TASK_STATUSES]
    assessments = list_assessments(session, patient_id=patient_id, actor=actor)
    engine = _engine_view(
        session,
        record,
        assessments,
        patient_id=patient_id,
        definition=definition,
        today=today,
        tz=tz,
    )
    spans = _spans(record, definition)
    alerts = list_alerts(session, patient_id=patient_id, actor=actor)
    closed_tasks = [t for t in tasks if t.status not in OPEN_TASK_STATUSES]
    return PatientPage(
        record=record,
        phase_title=_phase_title(record, definition),
        spans=spans,
        strip=phase_strip([(s.phase, s.title, s.start, s.end) for s in spans], now=now, tz=tz),
        courses=courses,
        open_tasks=open_tasks,
        closed_tasks=closed_tasks,
        people=display_names(
            session,
            [
                *(t.completed_by for t in closed_tasks),
                *(e.actor for e in record.events),
                *(a.acknowledged_by for a in alerts),
                *(r.signed_by for r in assessments),
            ],
        ),
        alerts=alerts,
        assessments=assessments,
        amended_ids={a.amends_id for a in assessments if a.amends_id is not None},
        suggestion=engine.suggestion,
        suggestion_for=engine.suggestion_for,
        events=engine.events,
        labs=load_labs(
            session,
            patient_id=patient_id,
            actor=actor,
            definition=definition,
            today=today,
            tz=tz,
            chosen=range_key(labs_range),
        ),
        header=header(open_tasks, alerts, now),
        task_groups=group_tasks(open_tasks, now),
        advice=engine.advice,
        problems=engine.problems,
        next_steps=engine.steps,
    )


def _course_lines(stored: list[Course], today: date) -> list[CourseLine]:
    """Every course, the one in progress marked with today's cycle day."""
    running = current_course(stored)
    return [
        CourseLine(
            course=c,
            cycle_day=day_number(c.anchor_date, today) if c is running else None,
            current=c is running,
        )
        for c in stored
    ]


def _phase_title(record: PatientRecord, definition: Definition) -> str:
    instance = record.instance
    if instance is None:
        return "–"
    return str(
        definition.machines["main"].states.get(instance.phase, {}).get("title", instance.phase)
    )


@dataclass
class _EngineView:
    """What the engine says of the patient's facts today (empty when they cannot be read)."""

    problems: list[str] = field(default_factory=list)
    suggestion: dict[str, Any] | None = None
    suggestion_for: int | None = None
    events: list[EventChoice] = field(default_factory=list)
    advice: dict[str, Any] | None = None
    steps: list[NextStep] = field(default_factory=list)


def _engine_view(
    session: Session,
    record: PatientRecord,
    assessments: list[ResponseAssessmentRecord],
    *,
    patient_id: int,
    definition: Definition,
    today: date,
    tz: str,
) -> _EngineView:
    """The advice, the unsigned assessment's suggestion and next steps, and the transitions."""
    snapshots, snapshot_problems = load_snapshots(
        session, patient_ids=[patient_id], as_of=today, timezone=tz, centre=CentreFacts()
    )
    view = _EngineView(problems=[p.problem for p in snapshot_problems])
    instance = record.instance
    if not snapshots or instance is None:
        return view
    facts = snapshots[0].facts
    view.advice = induction_advice(facts, definition)
    latest = assessments[-1] if assessments else None
    if latest is not None and latest.signed_at is None:
        view.suggestion = latest.suggestion or response_suggestion(facts, definition)
        view.suggestion_for = latest.id
        view.steps = pending_steps(facts, definition)
    view.events = _event_choices(instance, facts, definition)
    return view


def _event_choices(
    instance: PathwayInstance, facts: CaseFacts, definition: Definition
) -> list[EventChoice]:
    """Each track's transitions from its state, with the guards that block them now."""
    events: list[EventChoice] = []
    for track, machine in definition.machines.items():
        state = str(getattr(instance, TRACK_COLUMNS[track]))
        for transition in machine.allowed(state):
            events.append(
                EventChoice(
                    track=track,
                    event=transition.event,
                    title=transition.title or transition.event,
                    target=transition.target,
                    rule_ids=transition.rule_ids,
                    blocked_by=tuple(
                        f"requires {g.requires} ({', '.join(g.rule_ids)})"
                        for g in transition.guards
                        if not g.test(facts)
                    ),
                    requires=tuple(
                        f"{g.requires} ({', '.join(g.rule_ids)})" for g in transition.guards
                    ),
                    needs_signature=any(g.name.startswith("signed_") for g in transition.guards),
                )
            )
    return events
