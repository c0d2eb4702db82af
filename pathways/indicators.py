"""Pathway-adherence indicators (RULES.md §8, QM-01..QM-20 and the optional measures) as data.

The ``indicators`` section (``indicators.yaml``) describes each measure in a
small vocabulary; the loader validates it (every problem in the one
``DefinitionError``) and ``indicators_of`` compiles it into ``Indicator``
values. The SQL that computes them is in ``models`` (this package does no IO);
each term below is one SQL fragment there.

An indicator::

    QM-14:                       # a QM id of RULES.md §8, an OPT-<rule> optional
      title: ...                 # measure, or a part (QM-20a) with ``measure: QM-20``
      rules: [INO-05]            # the RULES.md "Rule" column
      unit: dose                 # task | episode | course | dose
      optional: false            # one of §8's "optional extra measures"
      computable: true           # false: ``reason`` says what the tracker does not record
      target: 1.0                # optional, shown beside the rate
      denominator: {text, <population>}
      exclusions: [clinical_trial, ...]        # conditions (below) that remove a unit
      numerator: {text, <evidence>}
      window: {text, kind, defaults: [names]}  # the named defaults that set it

Units and their population (the denominator before exclusions)
--------------------------------------------------------------
``task``     ``tasks: {rules, slots, kinds}`` — each task the engine planned
             (slot = the last part of the task key ``{rule}:{scope}:{occ}:{slot}``).
``episode``  a patient-episode: one r/r episode from DX (the pathway instance,
             split at each signed relapse). ``planned: {rules, slots, kinds, cycle,
             course_phases}`` keeps the episodes for which the engine planned such
             a task; ``starts_induction: true`` those with a first induction course
             (IND_D1); ``where: [conditions]`` all hold; ``any_of: [[conditions]]``
             one of the lists holds.
``course``   ``courses: {regimens, cycle, course_phases}`` — the first course of
             each listed regimen in an episode (a regimen "start").
``dose``     ``doses: {rules, kinds}`` — each dose task completed (a dose given).

Numerator evidence (one per indicator)
---------------------------------------
``on_time: true``      (task) the task completed inside its window.
``done``               (episode) a task of ``rules`` (``slots``, ``kinds``, ``cycle``,
                       ``course_phases``) completed with ``with_results`` present;
                       ``all: true``: one of each rule.
``fitness``            (episode) a fitness assessment with ECOG, a clinician category and
                       one of ``instruments``, or a completed ``rules`` task recording them.
``first_induction``    (episode) the first induction course is one of these option ids.
``antigen``            (course) ``cd19: [regimens]``, ``cd22: [regimens]``: the target
                       antigen of the started regimen is documented positive.
``prephase``           (course) a pre-phase of at least ``days`` before C1_D1 is recorded
                       on the course, or its ``rules``/``slots`` task was completed.
``tki``                (episode) one of ``medications`` is on the list through IND_D1, and
                       a ``result_rules`` task was completed before the TKI start.
``labs_before``        (dose) every lab of ``codes`` resulted in the ``hours`` before the
                       dose (the ``rules``/``slots`` task of the dose is shown beside it).
``premedication_and_observation``  (dose) the ``premedication`` task of the dose was
                       completed, and the ``observation`` task records ``to`` at least
                       ``minutes`` after ``from``.
``marrow``             (episode) a response assessment with marrow blasts (and MRD, with
                       ``with_mrd``) on a date inside the planned marrow's window.
``track_event``        (episode) the parallel ``track`` went ``from`` -> ``to`` (a clinician
                       closed it).

Windows
-------
``task``         the planned tasks' own windows (``not_before`` .. ``expires``), which the
                 listed defaults set when the engine planned them.
``workup``       DX .. IND_D1 when the episode started induction, else the planned
                 tasks' windows.
``at_start``     decided at the start (IND_D1, C1_D1): no waiting.
``hours_before`` the hours before the dose, given in the numerator.
``dose_day``     the day of the dose.
``episode``      within the episode (until a later relapse or the end of tracking).

Every unit is classed ``on_time`` (numerator), ``late`` or ``early`` (done outside
its window), ``missed``, ``excused`` (the planned tasks were cancelled because they
no longer apply, or held with a documented reason — a justified hold is not a
lapse) or ``pending`` (its window has not closed). The denominator is on time +
late + early + missed; excused and pending units are counted but left out.
"""

from __future__ import annotations

import weakref
from typing import Any

from pathways.errors import DefinitionError
from pathways.indicator_compiler import IndicatorCompiler
from pathways.indicator_values import (
    CONDITIONS,
    EVIDENCE_UNITS,
    UNITS,
    WINDOW_KINDS,
    Condition,
    Evidence,
    Indicator,
    Population,
    TaskFilter,
    Window,
)
from pathways.model import Definition, ValidationContext


def validate_indicators(raw: Any, ctx: ValidationContext) -> None:
    IndicatorCompiler(ctx).section(raw)


_CACHE: dict[int, tuple[weakref.ref[Definition], tuple[Indicator, ...]]] = {}


def indicators_of(definition: Definition) -> tuple[Indicator, ...]:
    """The definition's indicators in file order (compiled once per definition object)."""
    key = id(definition)
    entry = _CACHE.get(key)
    if entry is not None and entry[0]() is definition:
        return entry[1]
    raw = definition.section("indicators")
    if raw is None:
        return ()
    machines = {name: {"states": dict(m.states)} for name, m in definition.machines.items()}
    ctx = ValidationContext(
        rule_ids=frozenset(definition.rules),
        defaults=definition.defaults,
        states={name: frozenset(m.states) for name, m in definition.machines.items()},
        raw={**definition.sections, "machines": machines},
    )
    compiled = IndicatorCompiler(ctx).section(raw)
    if ctx.problems:
        raise DefinitionError(definition.name, ctx.problems)
    _CACHE[key] = (weakref.ref(definition, lambda _ref: _CACHE.pop(key, None)), compiled)
    return compiled


def indicator(definition: Definition, indicator_id: str) -> Indicator:
    for found in indicators_of(definition):
        if found.id == indicator_id:
            return found
    raise KeyError(indicator_id)


__all__ = [
    "CONDITIONS",
    "EVIDENCE_UNITS",
    "UNITS",
    "WINDOW_KINDS",
    "Condition",
    "Evidence",
    "Indicator",
    "Population",
    "TaskFilter",
    "Window",
    "indicator",
    "indicators_of",
    "validate_indicators",
]
