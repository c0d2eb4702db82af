"""Schedule templates: the data vocabulary of regimens, follow-up and workup tasks.

A template describes one task that recurs on the calendar of an *anchor*. The
definition keeps templates in three sections, validated when the definition
loads (every problem is reported in the one ``DefinitionError``):

``regimens`` (files ``regimens-*.yaml``): option id -> regimen::

    blinatumomab:
      title: Blinatumomab            # shown in titles as {regimen}
      applies_to: [blinatumomab]     # option ids of Course.regimen (default: the key)
      anchor: cycle_day              # default anchor of its tasks
      cycle_length: {first: 42, later: 42}   # days from D1 to the next D1 (optional)
      maintenance_interval_days: 84  # M_D1 to the next M_D1 (maintenance_day anchor)
      tasks: [template, ...]         # each with a ``slot`` unique in the regimen

``followup`` (``followup.yaml``): name -> template. Post-remission,
surveillance, the CNS and testis tracks, Ph+ and fitness tasks, and tasks
shared by several regimens (``regimens: [option ids]``).

``workup`` (``workup.yaml``): name -> template of the workup checklist, planned
when no course is in progress.

Template keys
-------------
``rule``            the RULES.md id the task carries (``section`` is its citation)
``also``            further rule ids the task satisfies (``detail["rule_ids"]``)
``kind``            a task kind of CASE-FORMAT.md (``pathways.vocab.TaskKind``)
``role``            ``coordinator`` or ``clinician`` (the RULES "who" column)
``title``           text with placeholders: ``{regimen}`` (regimen title),
                    ``{product}`` (the course's option id in words), ``{phase}``
                    (course phase), ``{cycle}``, ``{day}``, ``{last_day}`` (of a
                    span), ``{month}``, ``{n}`` (n-th occurrence), ``{dose}``,
                    ``{next_cycle_day}``, ``{next_cycle_date}``, ``{hours}``
``anchor``          which calendar the days count on (table below)
timing, exactly one (a task without one has no window and is refused):
    ``day: N``                    one occurrence
    ``days: [N, ...]``            several
    ``every: N`` with ``from: A`` (or ``after: A``, first = A + N) and
    ``to: B``, ``count: K`` or ``through_months: M`` (none: open-ended,
    bounded by the planning horizon)
    ``span: [A, B]``              one task whose window is days A..B
    ``months: {every: N, after: A, through: B}``  calendar months after day 1
                                  (day 0 for zero-based anchors); ``through`` optional
    ``next_cycle: true``          day 1 of the next cycle (cycle length + 1; the
                                  regimen's or the course's recorded length)
    (anchors ``workup`` and ``response_window`` give the window themselves)
``before_days``, ``after_days``  window around each occurrence day (default 0)
``before_hours``    e.g. 72: the result must be at most that many hours before
                    the occurrence; the date window opens ceil(h/24) days before
``due``             ``day`` (default for occurrences), ``start`` or ``end``
                    (default for spans and given windows)
``when``            predicate names, all must hold (``schedules.predicates``);
                    an unknown answer plans the task with ``detail["applies_if"]``
``phases``          course phases (prephase, induction, consolidation, maintenance)
``patient_phases``  patient phases (``pathways.vocab.Phase`` values)
``regimens``        followup only: option ids of the course in progress
``safety``          a §10-rule-3 safety task (never suppressed by a normal result)
``blocks``          slot of the task on the same day this one must precede
``result_fields``   what completing the task records
``panel``           lab panel, required for ``lab_panel`` tasks
``dose``            ``{drug, unit, amount | by_day: {day: amount}, cap}`` or
                    ``{rule: name, ...params}`` (``schedules.doses``)
``while_on_treatment``  not planned on days after ``Course.last_dose_date``
``clip_to_cycle``   the window ends at the latest on the day before the next D1
``response_window`` this task's window is the course's response assessment
                    (companion tasks anchor on it); a window reaching the next cycle's
                    day 1 says so (``detail["next_cycle_overlap"]``, NEL-01)
``requirement``     required | recommended | consider | if_indicated, upgraded to
                    required when every ``required_when`` predicate holds
``fallback``        for the ``fitness`` anchor: the anchor used while no FIT date is
                    recorded (``workup``, ``response``, ``last_dose``, ``dx``)
``note``            text copied to ``detail["note"]``
``show_defaults``   default names whose values the task shows (``detail["policy"]``),
                    e.g. monitoring frequencies that are local policy
``waits_on``        ``{when: predicate, decision: text}``: while the predicate holds, the
                    task says it waits on that decision (``detail["waits_on"]`` and its
                    title), e.g. the infusion when C1_D1 is before P8 (BLIN-01)

A number may be written ``{default: name}``: the named setting of the
``defaults`` section (local policy an institution may override) is used and
listed in the task's ``defaults_used``.

Anchors (day N of each)
-----------------------
=================  =================================================  =========
anchor             date of day N                                       RULES
=================  =================================================  =========
cycle_day          ``Course.cycle_start + (N - 1)``                    Cn_Dm
infusion_day       ``Course.cycle_start + N`` (infusion is day 0)      INF_D0
prephase_day       ``P1 + (N - 1)``; P1 = ``Course.prephase_start``    P1
                   ([DER] C1_D1 - 7 for a pre-phase course without it)
induction_day      ``IND_D1 + (N - 1)``; IND_D1 = P1 or C1_D1 of a     IND_D1
                   first-cycle prephase/induction course
maintenance_day    ``M_D1 + (N - 1)`` of maintenance cycle 1,          M_Dk
                   ``cycle_start - (cycle - 1) * interval``
last_dose          ``Course.last_dose_date + N``                       LAST_DOSE
response           ``SignedResponse.signed_on + N``                    RESP
fitness            ``FitnessFacts.assessed_on + N``                    FIT
dx                 ``HistoryFacts.dx_date + N``                        DX
response_window    the window of the course's response-assessment task RESP/EOI
workup             DX .. the day before IND_D1 (DX + a default when    WU
                   IND_D1 is not known)
=================  =================================================  =========

Day N is always a calendar day in the clinic's zone (``pathways.clock``);
never 24 h x N.

This module holds the vocabulary, the data model and the section validators;
``compiler`` checks and compiles sections, ``predicates`` and ``doses`` hold
the named conditions and dose rules, ``planner`` expands templates for one
patient.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pathways.schedules.doses import DoseSpec
from pathways.vocab import CoursePhase, OptionId, Phase, Role, TaskKind

# anchor -> (number of day 1: 1 for "day 1 is the anchor", 0 for "day 0 is the anchor")
ANCHOR_BASE: dict[str, int] = {
    "cycle_day": 1,
    "infusion_day": 0,
    "prephase_day": 1,
    "induction_day": 1,
    "maintenance_day": 1,
    "last_dose": 0,
    "response": 0,
    "fitness": 0,
    "dx": 0,
}
WINDOW_ANCHORS = frozenset({"workup", "response_window"})
COURSE_ANCHORS = frozenset(
    {"cycle_day", "infusion_day", "prephase_day", "induction_day", "maintenance_day"}
)
SECTION_ANCHORS: dict[str, frozenset[str]] = {
    "regimens": COURSE_ANCHORS | {"last_dose"},
    "followup": frozenset(ANCHOR_BASE) | {"response_window"},
    "workup": frozenset({"workup", "induction_day", "fitness", "dx"}),
}
TIMING_KEYS = ("day", "days", "every", "span", "months", "next_cycle")
REPEAT_KEYS = frozenset({"from", "after", "to", "count", "through_months"})
COMMON_KEYS = frozenset(
    {
        "rule",
        "also",
        "kind",
        "role",
        "title",
        "anchor",
        *TIMING_KEYS,
        *REPEAT_KEYS,
        "before_days",
        "after_days",
        "before_hours",
        "due",
        "when",
        "phases",
        "patient_phases",
        "safety",
        "blocks",
        "result_fields",
        "panel",
        "dose",
        "while_on_treatment",
        "clip_to_cycle",
        "response_window",
        "requirement",
        "required_when",
        "fallback",
        "note",
        "show_defaults",
        "waits_on",
    }
)
SECTION_KEYS: dict[str, frozenset[str]] = {
    "regimens": COMMON_KEYS | {"slot"},
    "followup": COMMON_KEYS | {"regimens"},
    "workup": COMMON_KEYS,
}
TITLE_FIELDS = frozenset(
    {
        "regimen",
        "product",
        "phase",
        "cycle",
        "day",
        "last_day",
        "month",
        "n",
        "dose",
        "next_cycle",
        "next_cycle_day",
        "next_cycle_date",
        "hours",
    }
)
FALLBACKS = frozenset({"workup", "response", "last_dose", "dx"})
ROLES = frozenset({Role.COORDINATOR.value, Role.CLINICIAN.value})
REQUIREMENTS = frozenset({"required", "recommended", "consider", "if_indicated"})
DUE_MODES = frozenset({"day", "start", "end"})
DOSE_KINDS = frozenset({TaskKind.DOSE, TaskKind.PREMEDICATION})
REGIMEN_KEYS = frozenset(
    {"title", "applies_to", "anchor", "cycle_length", "maintenance_interval_days", "tasks"}
)
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
OPTION_IDS = frozenset(o.value for o in OptionId)


@dataclass(frozen=True, slots=True)
class Timing:
    """When a template's occurrences fall, in days (or months) of its anchor."""

    mode: str  # points | repeat | span | months | given | next_cycle
    days: tuple[int, ...] = ()
    every: int = 0
    first: int = 0
    last: int | None = None
    through_months: int | None = None
    span: tuple[int, int] = (0, 0)
    month_after: int = 0
    month_through: int | None = None


@dataclass(frozen=True, slots=True)
class Template:
    slot: str
    rule: str
    rule_ids: tuple[str, ...]
    section: str
    kind: TaskKind
    role: Role
    title: str
    title_fields: frozenset[str]
    # The title placeholders that change with each occurrence, in a fixed order.
    occurrence_fields: tuple[str, ...]
    anchor: str
    base: int
    timing: Timing
    before_days: int = 0
    after_days: int = 0
    hours_before: int | None = None
    due: str = "day"
    when: tuple[str, ...] = ()
    phases: frozenset[CoursePhase] | None = None
    patient_phases: frozenset[Phase] | None = None
    regimens: frozenset[str] | None = None
    safety: bool = False
    blocks: str | None = None
    result_fields: tuple[str, ...] = ()
    panel: str | None = None
    dose: DoseSpec | None = None
    while_on_treatment: bool = False
    clip_to_cycle: bool = False
    response_window: bool = False
    requirement: str | None = None
    required_when: tuple[str, ...] = ()
    fallback: str | None = None
    note: str | None = None
    shown: tuple[tuple[str, Any], ...] = ()
    defaults_used: tuple[str, ...] = ()
    # No condition of any kind (when, phases, patient_phases, regimens).
    unconditional: bool = False
    # The detail every task of the template carries, and the title placeholders
    # filled once per plan (the others change with each occurrence).
    static_detail: tuple[tuple[str, Any], ...] = ()
    plan_fields: tuple[str, ...] = ()
    # "d{N}" for each day of a points timing, for the task keys.
    day_labels: tuple[str, ...] = ()
    # (predicate, decision): while the predicate holds the task waits on the decision.
    waits_on: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Regimen:
    id: str
    title: str
    applies_to: frozenset[str]
    cycle_length_first: int | None
    cycle_length_later: int | None
    maintenance_interval_days: int | None
    tasks: tuple[Template, ...]
    # Defaults behind cycle_length_first / cycle_length_later, if any.
    first_length_defaults: tuple[str, ...] = ()
    later_length_defaults: tuple[str, ...] = ()

    # The templates that can apply to a course in each phase (not the last-dose ones).
    by_phase: Mapping[CoursePhase, tuple[Template, ...]] = field(default_factory=dict)

    def course_tasks(self, phase: CoursePhase) -> tuple[Template, ...]:
        return self.by_phase[phase]

    def cycle_length(self, cycle: int, recorded: int | None) -> int | None:
        """Days from D1 to the next D1: recorded on the course, else the regimen's."""
        if recorded is not None:
            return recorded
        return self.cycle_length_first if cycle == 1 else self.cycle_length_later

    def cycle_length_defaults(self, cycle: int, recorded: int | None) -> tuple[str, ...]:
        if recorded is not None:
            return ()
        return self.first_length_defaults if cycle == 1 else self.later_length_defaults
