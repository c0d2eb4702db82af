"""The templates of one definition, compiled once and shared by every plan.

``compiled_schedules(definition)`` checks and compiles the ``regimens``,
``followup`` and ``workup`` sections against the definition's defaults (with
institution overrides) and caches the result on the definition object's id,
so a flow planning 100,000 patients compiles once.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pathways.errors import DefinitionError
from pathways.facts import Course
from pathways.model import Definition
from pathways.schedules.compiler import Compiler
from pathways.schedules.templates import COURSE_ANCHORS, Regimen, Template
from pathways.vocab import CoursePhase, OptionId, Phase


@dataclass(frozen=True, slots=True)
class CompiledSchedules:
    regimens: Mapping[str, Regimen]  # by option id
    followup: tuple[Template, ...]
    workup: tuple[Template, ...]
    values: Mapping[str, Any]
    # The follow-up templates that can apply, by (option id, course phase,
    # patient phase): (None, None, phase) without a course; option id "" for a
    # course of a regimen without a schedule.
    followup_for: Mapping[tuple[str | None, CoursePhase | None, Phase], tuple[Template, ...]]

    def followup_templates(self, course: Course | None, phase: Phase) -> tuple[Template, ...]:
        if course is None:
            return self.followup_for[(None, None, phase)]
        found = self.followup_for.get((course.regimen, course.phase, phase))
        return found if found is not None else self.followup_for[("", course.phase, phase)]


_CACHE: dict[int, tuple[weakref.ref[Definition], CompiledSchedules]] = {}


def compiled_schedules(definition: Definition) -> CompiledSchedules:
    """The definition's templates, compiled once per definition object."""
    key = id(definition)
    entry = _CACHE.get(key)
    if entry is not None and entry[0]() is definition:
        return entry[1]
    compiled = _compile(definition)
    _CACHE[key] = (weakref.ref(definition, lambda _ref: _CACHE.pop(key, None)), compiled)
    return compiled


def _compile(definition: Definition) -> CompiledSchedules:
    values = {name: setting.value for name, setting in definition.defaults.items()}
    compiler = Compiler(
        rule_ids=frozenset(definition.rules),
        values=values,
        citations={rule_id: info.citation for rule_id, info in definition.rules.items()},
        lab_panels={name: panel.results for name, panel in definition.labs.panels.items()},
    )
    regimens = compiler.regimens(definition.section("regimens") or {})
    followup = compiler.named_templates(definition.section("followup") or {}, "followup")
    workup = compiler.named_templates(definition.section("workup") or {}, "workup")
    course_pairs = {(t.rule, t.slot) for r in regimens.values() for t in r.tasks}
    for template in followup:
        if template.anchor in COURSE_ANCHORS and (template.rule, template.slot) in course_pairs:
            compiler.problems.append(
                f"followup.{template.slot}: rule and slot repeat a regimen task (keys would collide)"
            )
    if compiler.problems:
        raise DefinitionError(definition.name, compiler.problems)
    by_option = {option: r for r in regimens.values() for option in r.applies_to}
    return CompiledSchedules(by_option, followup, workup, values, _followup_buckets(followup))


def _followup_buckets(
    followup: tuple[Template, ...],
) -> dict[tuple[str | None, CoursePhase | None, Phase], tuple[Template, ...]]:
    """Pre-filter the follow-up templates by course regimen, course phase and patient phase."""
    needs_course = COURSE_ANCHORS | {"response_window"}
    buckets: dict[tuple[str | None, CoursePhase | None, Phase], tuple[Template, ...]] = {}
    for phase in Phase:
        in_phase = [t for t in followup if t.patient_phases is None or phase in t.patient_phases]
        buckets[(None, None, phase)] = tuple(
            t
            for t in in_phase
            if t.regimens is None and t.phases is None and t.anchor not in needs_course
        )
        for course_phase in CoursePhase:
            open_to = [t for t in in_phase if t.phases is None or course_phase in t.phases]
            buckets[("", course_phase, phase)] = tuple(t for t in open_to if t.regimens is None)
            for option in OptionId:
                buckets[(option.value, course_phase, phase)] = tuple(
                    t for t in open_to if t.regimens is None or option.value in t.regimens
                )
    return buckets
