"""Adherence indicators as values: what each measures, of which population, by which evidence.

Compiled from the ``indicators`` section by ``indicator_compiler``; read through
``pathways.indicators`` (the section's documentation is there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pathways.vocab import CoursePhase, OptionId, TaskKind

UNITS = ("task", "episode", "course", "dose")
WINDOW_KINDS = ("task", "workup", "at_start", "hours_before", "dose_day", "episode")

# Which evidence each unit may use, and which windows go with it.
EVIDENCE_UNITS: dict[str, str] = {
    "on_time": "task",
    "done": "episode",
    "fitness": "episode",
    "first_induction": "episode",
    "tki": "episode",
    "marrow": "episode",
    "track_event": "episode",
    "antigen": "course",
    "prephase": "course",
    "labs_before": "dose",
    "premedication_and_observation": "dose",
}
UNIT_WINDOWS: dict[str, frozenset[str]] = {
    "task": frozenset({"task"}),
    "episode": frozenset({"task", "workup", "at_start", "episode"}),
    "course": frozenset({"at_start"}),
    "dose": frozenset({"hours_before", "dose_day"}),
}
# Evidence found among the planned tasks needs them (their windows, their excuses).
NEEDS_PLANNED = frozenset({"done", "fitness", "marrow"})
# The population key each unit needs.
UNIT_POPULATION = {"task": "tasks", "course": "courses", "dose": "doses"}


@dataclass(frozen=True, slots=True)
class Condition:
    """A named condition on a patient-episode (SQL in models.repositories.adherence_sql)."""

    name: str
    text: str
    rule_ids: tuple[str, ...]
    defaults: tuple[str, ...] = ()


CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition("clinical_trial", "the episode entered a clinical trial (SM-13)", ("SM-13",)),
        Condition(
            "goal_symptom_relief",
            "the goal of therapy is symptom relief only",
            ("RESP-02", "WU-28"),
        ),
        Condition(
            "frail", "the clinician-assigned fitness before IND_D1 is frail", ("FIT-03", "FIT-07")
        ),
        Condition(
            "retreatment",
            "the first induction retreats with the prior regimen (DEF-12)",
            ("DEF-12", "IND-09"),
        ),
        Condition("has_testes", "the patient has testes", ("WU-11",)),
        Condition("b_lineage", "B-cell ALL", ("IND-06",)),
        Condition("t_lineage", "T-cell ALL", ("IND-05",)),
        Condition("cd19_or_cd22_positive", "CD19- or CD22-positive blasts", ("IND-06",)),
        Condition("cd19_cd22_negative", "CD19- and CD22-negative blasts", ("IND-07",)),
        Condition("ph_positive", "Ph-positive (DEF-13)", ("DEF-13", "IND-04")),
        Condition("kmt2a_rearranged", "KMT2A (11q23) rearranged", ("IND-07", "WU-05")),
        Condition(
            "multiply_relapsed",
            "two or more relapses, or the episode reached SM-11 (DEF-11)",
            ("DEF-11", "SM-11"),
        ),
        Condition(
            "revumenib_naive",
            "no revumenib before this episode (prior-therapy list and earlier courses)",
            ("MULTI-03",),
        ),
        Condition(
            "cns_involved",
            "CNS involvement documented (CNS status, or the CNS track in treatment)",
            ("CNS-05", "CNS-06"),
        ),
        Condition(
            "high_burden",
            "marrow blasts or peripheral blasts above the DEF-14 thresholds",
            ("DEF-14", "IND-11"),
            ("prephase_marrow_blast_pct_above", "prephase_peripheral_blasts_per_ul_above"),
        ),
    )
}

# Results a completed task stores (task_results) that the SQL may read as fitness instruments.
FITNESS_INSTRUMENTS = frozenset({"hct_ci", "cci", "sppb"})
ANTIGENS = frozenset({"cd19", "cd22"})
ID = re.compile(r"^(QM-\d{2}[a-z]?|OPT-[A-Z]+-\d{2}[a-z]?)$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
OPTION_IDS = frozenset(o.value for o in OptionId)
KINDS = frozenset(k.value for k in TaskKind)
COURSE_PHASES = frozenset(p.value for p in CoursePhase)


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Which planned tasks: by rule id, slot, kind, cycle and the phase of their course."""

    rules: tuple[str, ...]
    slots: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    cycle: int | None = None
    course_phases: tuple[str, ...] = ()
    with_results: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Population:
    text: str
    tasks: TaskFilter | None = None
    planned: TaskFilter | None = None
    starts_induction: bool = False
    regimens: tuple[str, ...] = ()
    cycle: int | None = None
    course_phases: tuple[str, ...] = ()
    where: tuple[str, ...] = ()
    any_of: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Evidence:
    """The numerator: one kind of the vocabulary and its parameters."""

    text: str
    kind: str | None  # None only for an indicator that is not computable
    tasks: TaskFilter | None = None
    all_of: bool = False
    options: tuple[str, ...] = ()
    antigens: tuple[tuple[str, tuple[str, ...]], ...] = ()
    codes: tuple[str, ...] = ()
    hours_default: str | None = None
    days: int | None = None
    minutes: int | None = None
    from_field: str | None = None
    to_field: str | None = None
    companion: TaskFilter | None = None
    instruments: tuple[str, ...] = ()
    with_mrd: bool = False
    track: str | None = None
    from_state: str | None = None
    to_state: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    text: str
    kind: str
    defaults: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    title: str
    rule_ids: tuple[str, ...]
    unit: str
    denominator: Population
    numerator: Evidence
    window: Window
    exclusions: tuple[str, ...] = ()
    optional: bool = False
    computable: bool = True
    reason: str | None = None
    target: float | None = None
    measure: str | None = None

    @property
    def defaults(self) -> tuple[str, ...]:
        """Every named default the indicator reads or shows."""
        names = list(self.window.defaults)
        if self.numerator.hours_default:
            names.append(self.numerator.hours_default)
        for name in (*self.denominator.where, *self.exclusions):
            names.extend(CONDITIONS[name].defaults)
        for group in self.denominator.any_of:
            for name in group:
                names.extend(CONDITIONS[name].defaults)
        return tuple(dict.fromkeys(names))

    def task_rules(self) -> frozenset[str]:
        """The rule ids of every task the indicator reads."""
        filters = (
            self.denominator.tasks,
            self.denominator.planned,
            self.numerator.tasks,
            self.numerator.companion,
        )
        return frozenset(r for f in filters if f is not None for r in f.rules)
