"""Checks and compiles the template sections of a definition (see ``templates``).

One ``Compiler`` walks a raw section, appends every problem it finds to one
list (the loader reports them all together) and returns the compiled
``Template``/``Regimen`` values for what is valid. The loader uses it to
validate; the planner uses it again, against the definition's defaults with
institution overrides, to build the templates it expands.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from typing import Any

from pathways.core.labs import expand_panels, raw_panels
from pathways.model import ValidationContext
from pathways.schedules.compile_base import MAX_OCCURRENCES, enum_of, is_in
from pathways.schedules.compile_doses import DoseChecks
from pathways.schedules.compile_timing import TimingChecks
from pathways.schedules.doses import DoseSpec
from pathways.schedules.predicates import PREDICATES
from pathways.schedules.templates import (
    ANCHOR_BASE,
    DOSE_KINDS,
    DUE_MODES,
    FALLBACKS,
    NAME,
    OPTION_IDS,
    REGIMEN_KEYS,
    REQUIREMENTS,
    ROLES,
    SECTION_ANCHORS,
    SECTION_KEYS,
    TITLE_FIELDS,
    Regimen,
    Template,
    Timing,
)
from pathways.vocab import CoursePhase, Phase, Role, TaskKind

__all__ = ["MAX_OCCURRENCES", "Compiler", "compiler_for", "validate_followup", "validate_regimens"]

# Title placeholders that change with each occurrence, in a fixed order, and
# those filled per occurrence or by the planner rather than once per plan.
OCCURRENCE_FIELDS = ("day", "last_day", "month", "n")
NOT_PLAN_FIELDS = frozenset({*OCCURRENCE_FIELDS, "dose", "next_cycle_day", "next_cycle_date"})
FLAGS = ("safety", "while_on_treatment", "clip_to_cycle", "response_window")


@dataclass(frozen=True, slots=True)
class _Conditions:
    when: tuple[str, ...]
    required_when: tuple[str, ...]
    phases: tuple[str, ...]
    patient_phases: tuple[str, ...]
    regimens: tuple[str, ...]


class Compiler(TimingChecks, DoseChecks):
    """Checks and compiles template sections; every problem goes to ``problems``."""

    # -- templates --------------------------------------------------------------

    def template(
        self, where: str, raw: Any, section: str, *, slot: str, default_anchor: str | None = None
    ) -> Template | None:
        if not isinstance(raw, dict):
            self.problems.append(f"{where}: must be a mapping")
            return None
        start = len(self.problems)
        for key in raw:
            if key not in SECTION_KEYS[section]:
                self.problems.append(f"{where}: unknown key {key!r}")
        used: list[str] = []
        rule, also = self._rule_of(where, raw)
        kind, role = self._kind_and_role(where, raw)
        title, fields = self._title(where, raw)
        anchor = self._anchor(where, raw.get("anchor", default_anchor), section)
        timing = self._timing(where, raw, anchor, used)
        before_days, after_days, hours_before = self._offsets(where, raw, used)
        due = self._due(where, raw, timing)
        conditions = self._conditions(where, raw, used)
        flags = self._flags(where, raw)
        result_fields, panel = self._results(where, raw, kind)
        dose = self._dose_of(where, raw, kind, (rule, *also), fields, timing, used)
        requirement, fallback = self._requirement_and_fallback(where, raw, section, anchor)
        shown = self._shown(where, raw, used)
        note, blocks = self._note_and_blocks(where, raw, section, anchor, flags)
        waits_on = self._waits_on(f"{where}.waits_on", raw.get("waits_on"), used)
        if not isinstance(slot, str) or not NAME.match(slot):
            self.problems.append(f"{where}: slot must be a snake_case name, got {slot!r}")
        if len(self.problems) > start or kind is None or anchor is None or timing is None:
            return None
        rule_ids = tuple(dict.fromkeys([rule, *also]))
        c = conditions
        return Template(
            slot=slot,
            rule=str(rule),
            rule_ids=rule_ids,
            section=self.citations.get(str(rule), ""),
            kind=kind,
            role=Role(str(role)),
            title=str(title),
            title_fields=fields,
            occurrence_fields=tuple(name for name in OCCURRENCE_FIELDS if name in fields),
            anchor=anchor,
            base=ANCHOR_BASE.get(anchor, 0),
            timing=timing,
            before_days=int(before_days or 0),
            after_days=int(after_days or 0),
            hours_before=hours_before,
            due=str(due),
            when=c.when,
            phases=_frozen(CoursePhase, c.phases),
            patient_phases=_frozen(Phase, c.patient_phases),
            regimens=frozenset(c.regimens) if c.regimens else None,
            safety=flags["safety"],
            blocks=blocks,
            result_fields=expand_panels(result_fields, self.lab_panels),
            panel=panel,
            dose=dose,
            while_on_treatment=flags["while_on_treatment"],
            clip_to_cycle=flags["clip_to_cycle"],
            response_window=flags["response_window"],
            requirement=requirement,
            required_when=c.required_when,
            fallback=fallback,
            note=note,
            shown=shown,
            defaults_used=tuple(sorted(set(used))),
            unconditional=not (c.when or c.phases or c.patient_phases or c.regimens),
            static_detail=_static_detail(anchor, rule_ids, hours_before, note),
            day_labels=tuple(f"d{day}" for day in timing.days),
            waits_on=waits_on,
            plan_fields=tuple(sorted(fields - NOT_PLAN_FIELDS)),
        )

    def _rule_of(self, where: str, raw: dict[str, Any]) -> tuple[Any, list[Any]]:
        rule = raw.get("rule")
        self.rules(f"{where}.rule", [rule])
        also = raw.get("also") or []
        if not isinstance(also, list):
            self.problems.append(f"{where}.also: must be a list of rule ids")
            also = []
        elif also:
            self.rules(f"{where}.also", also)
        return rule, also

    def _kind_and_role(self, where: str, raw: dict[str, Any]) -> tuple[TaskKind | None, Any]:
        kind = enum_of(TaskKind, raw.get("kind"))
        if kind is None:
            self.problems.append(f"{where}: unknown task kind {raw.get('kind')!r}")
        role = raw.get("role")
        if not is_in(role, ROLES):
            self.problems.append(f"{where}: role must be coordinator or clinician, got {role!r}")
        return kind, role

    def _title(self, where: str, raw: dict[str, Any]) -> tuple[Any, frozenset[str]]:
        title = raw.get("title")
        if not isinstance(title, str) or not title.strip():
            self.problems.append(f"{where}: needs a title")
            return title, frozenset()
        return title, self._title_fields(where, title)

    def _anchor(self, where: str, anchor: Any, section: str) -> str | None:
        if not is_in(anchor, SECTION_ANCHORS[section]):
            self.problems.append(
                f"{where}: unknown anchor {anchor!r} (known here: {', '.join(sorted(SECTION_ANCHORS[section]))})"
            )
            return None
        return str(anchor)

    def _offsets(
        self, where: str, raw: dict[str, Any], used: list[str]
    ) -> tuple[Any, Any, int | None]:
        before_days = self.number(
            f"{where}.before_days", raw.get("before_days", 0), used, minimum=0
        )
        after_days = self.number(f"{where}.after_days", raw.get("after_days", 0), used, minimum=0)
        hours_before = None
        if "before_hours" in raw:
            hours_before = self.number(
                f"{where}.before_hours", raw["before_hours"], used, minimum=0
            )
            if hours_before is not None and before_days:
                self.problems.append(f"{where}: give before_days or before_hours, not both")
        if hours_before is not None:
            before_days = math.ceil(hours_before / 24)
        return before_days, after_days, hours_before

    def _due(self, where: str, raw: dict[str, Any], timing: Timing | None) -> Any:
        windowed = timing is not None and timing.mode in ("span", "given")
        due = raw.get("due", "end" if timing is None or windowed else "day")
        if not is_in(due, DUE_MODES):
            self.problems.append(f"{where}: due must be day, start or end, got {due!r}")
        elif due == "day" and windowed:
            self.problems.append(f"{where}: due 'day' needs occurrence days (use start or end)")
        return due

    def _conditions(self, where: str, raw: dict[str, Any], used: list[str]) -> _Conditions:
        when = self._predicates(f"{where}.when", raw.get("when"), used)
        required_when = self._predicates(f"{where}.required_when", raw.get("required_when"), used)
        phases = self.names(
            f"{where}.phases", raw.get("phases"), (p.value for p in CoursePhase), "course phase"
        )
        patient_phases = self.names(
            f"{where}.patient_phases", raw.get("patient_phases"), (p.value for p in Phase), "phase"
        )
        regimens = self.names(f"{where}.regimens", raw.get("regimens"), OPTION_IDS, "option id")
        return _Conditions(when, required_when, phases, patient_phases, regimens)

    def _predicates(self, where: str, raw: Any, used: list[str]) -> tuple[str, ...]:
        names = self.names(where, raw, PREDICATES, "predicate")
        for name in names:
            if name in PREDICATES:
                used.extend(PREDICATES[name].defaults)
        return names

    def _flags(self, where: str, raw: dict[str, Any]) -> dict[str, bool]:
        flags = {}
        for flag in FLAGS:
            value = raw.get(flag, False)
            if not isinstance(value, bool):
                self.problems.append(f"{where}.{flag}: must be true or false")
            flags[flag] = bool(value)
        return flags

    def _results(
        self, where: str, raw: dict[str, Any], kind: TaskKind | None
    ) -> tuple[list[str], Any]:
        result_fields = raw.get("result_fields") or []
        if not isinstance(result_fields, list) or not all(
            isinstance(x, str) and NAME.match(x) for x in result_fields
        ):
            self.problems.append(f"{where}.result_fields: must be a list of snake_case names")
            result_fields = []
        panel = raw.get("panel")
        if kind is TaskKind.LAB_PANEL:
            if panel not in self.lab_panels:
                self.problems.append(
                    f"{where}: lab_panel needs a panel of the lab catalogue, got {panel!r}"
                )
        elif panel is not None:
            self.problems.append(f"{where}: panel is only for lab_panel tasks")
        return result_fields, panel

    def _dose_of(
        self,
        where: str,
        raw: dict[str, Any],
        kind: TaskKind | None,
        rule_ids: tuple[Any, ...],
        fields: frozenset[str],
        timing: Timing | None,
        used: list[str],
    ) -> DoseSpec | None:
        dose = None
        if "dose" in raw:
            if kind not in DOSE_KINDS:
                self.problems.append(f"{where}: dose is only for dose and premedication tasks")
            dose = self._dose(f"{where}.dose", raw["dose"], rule_ids, timing, used)
        if "dose" in fields and "dose" not in raw:
            self.problems.append(f"{where}: title uses {{dose}} but the template has no dose")
        return dose

    def _requirement_and_fallback(
        self, where: str, raw: dict[str, Any], section: str, anchor: str | None
    ) -> tuple[Any, Any]:
        requirement = raw.get("requirement")
        if requirement is not None and not is_in(requirement, REQUIREMENTS):
            self.problems.append(f"{where}: requirement must be one of {sorted(REQUIREMENTS)}")
        fallback = raw.get("fallback")
        if fallback is not None and not (is_in(fallback, FALLBACKS) and anchor == "fitness"):
            self.problems.append(
                f"{where}: fallback must be one of {sorted(FALLBACKS)}, for the fitness anchor only"
            )
        if fallback == "workup" and section == "regimens":
            self.problems.append(f"{where}: fallback workup is not available in regimens")
        return requirement, fallback

    def _note_and_blocks(
        self,
        where: str,
        raw: dict[str, Any],
        section: str,
        anchor: str | None,
        flags: dict[str, bool],
    ) -> tuple[Any, Any]:
        blocks = raw.get("blocks")
        if blocks is not None and (section != "regimens" or not isinstance(blocks, str)):
            self.problems.append(f"{where}: blocks names a slot of the same regimen")
        if flags["clip_to_cycle"] and anchor not in ("cycle_day",):
            self.problems.append(f"{where}: clip_to_cycle needs the cycle_day anchor")
        note = raw.get("note")
        if note is not None and not isinstance(note, str):
            self.problems.append(f"{where}.note: must be text")
        return note, blocks

    def _shown(
        self, where: str, raw: dict[str, Any], used: list[str]
    ) -> tuple[tuple[str, Any], ...]:
        shown: list[tuple[str, Any]] = []
        for name in self.names(
            f"{where}.show_defaults", raw.get("show_defaults"), self.values, "default"
        ):
            if name in self.values:
                value = self.values[name]
                shown.append((name, tuple(value) if isinstance(value, list) else value))
                used.append(name)
        return tuple(shown)

    def _waits_on(self, where: str, raw: Any, used: list[str]) -> tuple[str, str] | None:
        if raw is None:
            return None
        if (
            not isinstance(raw, dict)
            or set(raw) != {"when", "decision"}
            or not isinstance(raw["decision"], str)
            or not raw["decision"].strip()
        ):
            self.problems.append(f"{where}: needs when (a predicate) and decision (text)")
            return None
        name = raw["when"]
        if not is_in(name, PREDICATES):
            self.problems.append(f"{where}: unknown predicate {name!r}")
            return None
        used.extend(PREDICATES[name].defaults)
        return str(name), raw["decision"].strip()

    def _title_fields(self, where: str, title: str) -> frozenset[str]:
        names: set[str] = set()
        try:
            for _, name, spec, conversion in string.Formatter().parse(title):
                if name is None:
                    continue
                if name not in TITLE_FIELDS or spec or conversion:
                    self.problems.append(f"{where}: unknown title placeholder {{{name}}}")
                names.add(name)
        except ValueError as exc:
            self.problems.append(f"{where}: title is not a valid template: {exc}")
        return frozenset(names)

    # -- sections --------------------------------------------------------------

    def regimens(self, raw: Any) -> dict[str, Regimen]:
        out: dict[str, Regimen] = {}
        if not isinstance(raw, dict):
            self.problems.append("regimens: must map regimen ids to regimens")
            return out
        owner: dict[str, str] = {}
        for regimen_id, spec in raw.items():
            regimen = self._regimen(regimen_id, spec, owner)
            if regimen is not None:
                out[str(regimen_id)] = regimen
        return out

    def _regimen(self, regimen_id: Any, spec: Any, owner: dict[str, str]) -> Regimen | None:
        where = f"regimens.{regimen_id}"
        if not isinstance(spec, dict):
            self.problems.append(f"{where}: must be a mapping")
            return None
        for key in spec:
            if key not in REGIMEN_KEYS:
                self.problems.append(f"{where}: unknown key {key!r}")
        applies = spec.get("applies_to", [regimen_id])
        options = self.names(f"{where}.applies_to", applies, OPTION_IDS, "option id")
        for option in options:
            if option in owner:
                self.problems.append(
                    f"{where}: option {option!r} already scheduled by {owner[option]}"
                )
            owner[option] = str(regimen_id)
        first_used: list[str] = []
        later_used: list[str] = []
        first, later = self._cycle_length(where, spec.get("cycle_length"), first_used, later_used)
        interval = None
        if "maintenance_interval_days" in spec:
            interval = self.number(
                f"{where}.maintenance_interval_days",
                spec["maintenance_interval_days"],
                [],
                minimum=1,
            )
        tasks_raw = spec.get("tasks")
        if not isinstance(tasks_raw, list) or not tasks_raw:
            self.problems.append(f"{where}: needs a list of tasks")
            return None
        anchor = spec.get("anchor", "cycle_day")
        tasks = self._regimen_tasks(where, tasks_raw, anchor, interval, first, later)
        self._check_blocks(where, tasks)
        return Regimen(
            id=str(regimen_id),
            title=str(spec.get("title", regimen_id)),
            applies_to=frozenset(options),
            cycle_length_first=first,
            cycle_length_later=later,
            maintenance_interval_days=interval,
            tasks=tuple(tasks),
            first_length_defaults=tuple(first_used),
            later_length_defaults=tuple(later_used),
            by_phase={
                phase: tuple(
                    t
                    for t in tasks
                    if t.anchor != "last_dose" and (t.phases is None or phase in t.phases)
                )
                for phase in CoursePhase
            },
        )

    def _cycle_length(
        self, where: str, length: Any, first_used: list[str], later_used: list[str]
    ) -> tuple[Any, Any]:
        first = later = None
        if length is None:
            return first, later
        if not isinstance(length, dict) or set(length) - {"first", "later"} or not length:
            self.problems.append(f"{where}.cycle_length: needs first and/or later")
            return first, later
        if "first" in length:
            first = self.number(
                f"{where}.cycle_length.first", length["first"], first_used, minimum=1
            )
        if "later" in length:
            later = self.number(
                f"{where}.cycle_length.later", length["later"], later_used, minimum=1
            )
        return first, later

    def _regimen_tasks(
        self,
        where: str,
        tasks_raw: list[Any],
        anchor: Any,
        interval: int | None,
        first: int | None,
        later: int | None,
    ) -> list[Template]:
        tasks: list[Template] = []
        slots: dict[tuple[str, str], int] = {}
        for index, task in enumerate(tasks_raw):
            slot = task.get("slot") if isinstance(task, dict) else None
            label = f"{where}.tasks[{index}]" + (f" ({slot})" if slot else "")
            if isinstance(task, dict) and "slot" not in task:
                self.problems.append(f"{label}: needs a slot")
                continue
            template = self.template(label, task, "regimens", slot=str(slot), default_anchor=anchor)
            if template is None:
                continue
            pair = (template.rule, template.slot)
            if pair in slots:
                self.problems.append(
                    f"{label}: rule {pair[0]} slot {pair[1]!r} repeats tasks[{slots[pair]}]"
                )
            slots[pair] = index
            self._check_against_regimen(label, template, interval, first, later)
            tasks.append(template)
        return tasks

    def _check_against_regimen(
        self,
        label: str,
        template: Template,
        interval: int | None,
        first: int | None,
        later: int | None,
    ) -> None:
        """What a task takes from its regimen is there, and a cadence written twice agrees."""
        if template.anchor == "maintenance_day" and interval is None:
            self.problems.append(f"{label}: maintenance_day needs maintenance_interval_days")
        if (
            template.kind is TaskKind.MAINTENANCE_CYCLE_START
            and template.anchor == "maintenance_day"
            and template.timing.mode == "repeat"
            and interval is not None
            and template.timing.every != interval
        ):
            self.problems.append(
                f"{label}: repeats every {template.timing.every} days, but the regimen's "
                f"maintenance_interval_days is {interval} (one cadence, written twice)"
            )
        needs_length = (
            template.clip_to_cycle
            or template.timing.mode == "next_cycle"
            or bool(template.title_fields & {"next_cycle_day", "next_cycle_date"})
        )
        if needs_length and first is None and later is None:
            self.problems.append(f"{label}: needs the regimen's cycle_length")

    def _check_blocks(self, where: str, tasks: list[Template]) -> None:
        for template in tasks:
            if template.blocks is None:
                continue
            targets = [t for t in tasks if t.slot == template.blocks and t is not template]
            if not targets:
                self.problems.append(
                    f"{where}.{template.slot}: blocks unknown slot {template.blocks!r}"
                )
                continue
            for target in targets:
                if target.anchor != template.anchor or target.timing.mode != "points":
                    self.problems.append(
                        f"{where}.{template.slot}: blocks {template.blocks!r}, which is not on the same days"
                    )
                elif template.timing.mode == "points" and not set(template.timing.days) <= set(
                    target.timing.days
                ):
                    self.problems.append(
                        f"{where}.{template.slot}: blocks {template.blocks!r} on days it does not occur"
                    )

    def named_templates(self, raw: Any, section: str) -> tuple[Template, ...]:
        if not isinstance(raw, dict):
            self.problems.append(f"{section}: must map names to task templates")
            return ()
        out = []
        for name, spec in raw.items():
            template = self.template(f"{section}.{name}", spec, section, slot=str(name))
            if template is not None:
                out.append(template)
        return tuple(out)


def _static_detail(
    anchor: str,
    rule_ids: tuple[str, ...],
    hours_before: int | None,
    note: str | None,
) -> tuple[tuple[str, Any], ...]:
    detail: list[tuple[str, Any]] = [("anchor", anchor), ("rule_ids", rule_ids)]
    if hours_before is not None:
        detail.append(("max_hours_before", hours_before))
    if note is not None:
        detail.append(("note", note))
    return tuple(detail)


def _frozen(vocabulary: Any, names: tuple[str, ...]) -> Any:
    return frozenset(vocabulary(name) for name in names) if names else None


def compiler_for(ctx: ValidationContext) -> Compiler:
    """A compiler that checks a raw section against the loader's context."""
    values = {
        name: entry.get("value") if isinstance(entry, dict) else None
        for name, entry in ctx.defaults.items()
    }
    return Compiler(
        rule_ids=ctx.rule_ids,
        values=values,
        problems=ctx.problems,
        lab_panels=raw_panels(ctx.raw.get("labs")),
    )


def validate_regimens(raw: Any, ctx: ValidationContext) -> None:
    compiler_for(ctx).regimens(raw)


def validate_followup(raw: Any, ctx: ValidationContext) -> None:
    compiler_for(ctx).named_templates(raw, "followup")
