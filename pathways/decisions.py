"""What the engine returns: suggestions, tasks and alerts, each naming its rules.

Nothing here is an order. Options are listed, never ranked or picked (IND-06a);
a response category always needs a clinician's signature (DEF-15, RESP-04);
dose figures are arithmetic for pharmacist checking, never a released dose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pathways.vocab import ResponseCategory, Role, Severity, TaskKind


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    rule_ids: tuple[str, ...]
    note: str | None = None
    # Non-blocking warnings attached to the option (e.g. IND-06e jurisdiction).
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Exclusion:
    id: str
    reason: str
    rule_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Overlay:
    id: str
    rule_ids: tuple[str, ...]
    message: str | None = None


@dataclass(frozen=True, slots=True)
class InductionAdvice:
    branch: str
    options: tuple[Option, ...]
    excluded: tuple[Exclusion, ...]
    overlays: tuple[Overlay, ...]
    rule_ids: tuple[str, ...] = ()
    # Facts the decision needed and did not have (IND-00, MULTI-06).
    missing: tuple[str, ...] = ()
    # AMB-12 and similar: other branches a clinician should see side by side.
    alternative_branches: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResponseSuggestion:
    category: ResponseCategory
    reasons: tuple[str, ...]
    rule_ids: tuple[str, ...]
    requires_signature: bool = True
    # AMB-01: both refractory labels are kept; a clinician confirms one.
    labels: tuple[str, ...] = ()
    provisional: bool = False


@dataclass(frozen=True, slots=True)
class DoseSuggestion:
    """Dose arithmetic shown for pharmacist checking (RULES.md §10 rule 1)."""

    drug: str
    value: float | None
    unit: str
    basis: str
    rule_ids: tuple[str, ...]
    bsa_m2: float | None = None
    bsa_formula: str | None = None
    calculated_mg: float | None = None
    released: bool = False  # always False: the software never releases a dose
    note: str | None = None
    # The unit of ``calculated_mg`` (e.g. "mg", "mcg/day", "mg twice daily").
    calculated_unit: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """One task the pathway asks for, in its window on the clinic's calendar.

    ``key`` is unique and stable within one patient and pathway version: the
    same facts always give the same key, so planning is an idempotent upsert.
    ``not_before``/``due``/``expires`` are timezone-aware instants derived from
    the calendar dates in the clinic's zone (``pathways.clock``).
    """

    key: str
    kind: TaskKind
    rule_id: str
    title: str
    role: Role
    window_start: date
    due_date: date
    window_end: date
    not_before: datetime
    due: datetime
    expires: datetime
    section: str = ""
    regimen: str | None = None
    cycle: int | None = None
    day: int | None = None
    panel: str | None = None
    dose: DoseSuggestion | None = None
    # Safety tasks are never suppressed by an earlier normal result (§10 rule 3).
    safety: bool = False
    # A task that blocks another until it is done (e.g. LFTs before an INO dose).
    blocks: str | None = None
    # What completing the task asks for (e.g. "alt,ast,total_bilirubin,alp").
    result_fields: tuple[str, ...] = ()
    defaults_used: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    severity: Severity
    rule_id: str
    message: str
    role: Role = Role.CLINICIAN
    # The inputs that triggered it: test codes, values, thresholds.
    inputs: dict[str, Any] = field(default_factory=dict)
    rule_ids: tuple[str, ...] = ()
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReviewTask:
    """A clinician-review task the engine asks for: an alert to review, a category to sign."""

    rule_id: str
    role: Role
    title: str
    section: str
    due: datetime
    # The end of its window (exclusive); the window opens when the task is raised.
    expires: datetime
    # Critical alerts: shown and escalated as safety tasks.
    safety: bool
    result_fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProposedTransition:
    """A phase change the engine suggests; only a clinician's signature applies it."""

    event: str
    to_phase: str
    rule_ids: tuple[str, ...]
    reason: str
