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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pathways.core.labs import expand_panels, raw_panels
from pathways.model import ValidationContext
from pathways.schedules.doses import DOSE_RULES, DoseSpec
from pathways.schedules.predicates import PREDICATES
from pathways.schedules.templates import (
    ANCHOR_BASE,
    DOSE_KINDS,
    DUE_MODES,
    FALLBACKS,
    NAME,
    OPTION_IDS,
    REGIMEN_KEYS,
    REPEAT_KEYS,
    REQUIREMENTS,
    ROLES,
    SECTION_ANCHORS,
    SECTION_KEYS,
    TIMING_KEYS,
    TITLE_FIELDS,
    WINDOW_ANCHORS,
    Regimen,
    Template,
    Timing,
)
from pathways.vocab import CoursePhase, Phase, Role, TaskKind

# A bounded template expands to at most this many occurrences (a typo such as
# ``to: 100000`` is refused instead of planned); open-ended repeats are bounded
# by the planning horizon instead.
MAX_OCCURRENCES = 500


@dataclass
class Compiler:
    """Checks and compiles template sections; every problem goes to ``problems``."""

    rule_ids: frozenset[str]
    values: Mapping[str, Any]
    citations: Mapping[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # The panels of the lab catalogue (labs.yaml) and their results: a lab_panel task
    # names one, and result_fields may (compiled to the panel's results).
    lab_panels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    # -- values ---------------------------------------------------------------

    def number(
        self,
        where: str,
        raw: Any,
        used: list[str],
        *,
        integer: bool = True,
        minimum: float | None = None,
    ) -> Any:
        value = raw
        if isinstance(raw, dict):
            name = raw.get("default")
            if set(raw) != {"default"} or not _is_in(name, self.values):
                self.problems.append(f"{where}: unknown default {name!r}")
                return None
            used.append(str(name))
            value = self.values[str(name)]
            where = f"{where} (default {name})"
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.append(f"{where}: expected a number, got {value!r}")
            return None
        if integer and not isinstance(value, int):
            self.problems.append(f"{where}: expected a whole number, got {value!r}")
            return None
        if minimum is not None and value < minimum:
            self.problems.append(f"{where}: must be >= {minimum:g}, got {value!r}")
            return None
        return value

    def rules(self, where: str, ids: Any) -> bool:
        if not isinstance(ids, list | tuple) or not ids:
            self.problems.append(f"{where}: needs a non-empty list of rule ids")
            return False
        ok = True
        for rule_id in ids:
            if not _is_in(rule_id, self.rule_ids):
                self.problems.append(f"{where}: unknown rule id {rule_id!r}")
                ok = False
        return ok

    def names(self, where: str, raw: Any, known: Iterable[str], what: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            self.problems.append(f"{where}: must be a list of {what}s")
            return ()
        known_set = frozenset(known)
        for name in raw:
            if name not in known_set:
                self.problems.append(f"{where}: unknown {what} {name!r}")
        return tuple(raw)

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
        rule = raw.get("rule")
        self.rules(f"{where}.rule", [rule])
        also = raw.get("also") or []
        if not isinstance(also, list):
            self.problems.append(f"{where}.also: must be a list of rule ids")
            also = []
        elif also:
            self.rules(f"{where}.also", also)
        kind = _enum(TaskKind, raw.get("kind"))
        if kind is None:
            self.problems.append(f"{where}: unknown task kind {raw.get('kind')!r}")
        role = raw.get("role")
        if not _is_in(role, ROLES):
            self.problems.append(f"{where}: role must be coordinator or clinician, got {role!r}")
        title = raw.get("title")
        fields: frozenset[str] = frozenset()
        if not isinstance(title, str) or not title.strip():
            self.problems.append(f"{where}: needs a title")
        else:
            fields = self._title_fields(where, title)
        anchor = raw.get("anchor", default_anchor)
        if not _is_in(anchor, SECTION_ANCHORS[section]):
            self.problems.append(
                f"{where}: unknown anchor {anchor!r} (known here: {', '.join(sorted(SECTION_ANCHORS[section]))})"
            )
            anchor = None
        timing = self._timing(where, raw, anchor, used)
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
        due = raw.get(
            "due", "day" if timing is not None and timing.mode not in ("span", "given") else "end"
        )
        if not _is_in(due, DUE_MODES):
            self.problems.append(f"{where}: due must be day, start or end, got {due!r}")
        elif due == "day" and timing is not None and timing.mode in ("span", "given"):
            self.problems.append(f"{where}: due 'day' needs occurrence days (use start or end)")
        when = self.names(f"{where}.when", raw.get("when"), PREDICATES, "predicate")
        for name in when:
            if name in PREDICATES:
                used.extend(PREDICATES[name].defaults)
        required_when = self.names(
            f"{where}.required_when", raw.get("required_when"), PREDICATES, "predicate"
        )
        for name in required_when:
            if name in PREDICATES:
                used.extend(PREDICATES[name].defaults)
        phases = self.names(
            f"{where}.phases", raw.get("phases"), (p.value for p in CoursePhase), "course phase"
        )
        patient_phases = self.names(
            f"{where}.patient_phases", raw.get("patient_phases"), (p.value for p in Phase), "phase"
        )
        regimens = self.names(f"{where}.regimens", raw.get("regimens"), OPTION_IDS, "option id")
        flags = {}
        for flag in ("safety", "while_on_treatment", "clip_to_cycle", "response_window"):
            value = raw.get(flag, False)
            if not isinstance(value, bool):
                self.problems.append(f"{where}.{flag}: must be true or false")
            flags[flag] = bool(value)
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
        dose = None
        if "dose" in raw:
            if kind not in DOSE_KINDS:
                self.problems.append(f"{where}: dose is only for dose and premedication tasks")
            dose = self._dose(f"{where}.dose", raw["dose"], tuple([rule, *also]), timing, used)
        if "dose" in fields and "dose" not in raw:
            self.problems.append(f"{where}: title uses {{dose}} but the template has no dose")
        requirement = raw.get("requirement")
        if requirement is not None and not _is_in(requirement, REQUIREMENTS):
            self.problems.append(f"{where}: requirement must be one of {sorted(REQUIREMENTS)}")
        fallback = raw.get("fallback")
        if fallback is not None and not (_is_in(fallback, FALLBACKS) and anchor == "fitness"):
            self.problems.append(
                f"{where}: fallback must be one of {sorted(FALLBACKS)}, for the fitness anchor only"
            )
        if fallback == "workup" and section == "regimens":
            self.problems.append(f"{where}: fallback workup is not available in regimens")
        shown: list[tuple[str, Any]] = []
        for name in self.names(
            f"{where}.show_defaults", raw.get("show_defaults"), self.values, "default"
        ):
            if name in self.values:
                value = self.values[name]
                shown.append((name, tuple(value) if isinstance(value, list) else value))
                used.append(name)
        blocks = raw.get("blocks")
        if blocks is not None and (section != "regimens" or not isinstance(blocks, str)):
            self.problems.append(f"{where}: blocks names a slot of the same regimen")
        if flags["clip_to_cycle"] and anchor not in ("cycle_day",):
            self.problems.append(f"{where}: clip_to_cycle needs the cycle_day anchor")
        note = raw.get("note")
        if note is not None and not isinstance(note, str):
            self.problems.append(f"{where}.note: must be text")
        waits_on = self._waits_on(f"{where}.waits_on", raw.get("waits_on"), used)
        if not isinstance(slot, str) or not NAME.match(slot):
            self.problems.append(f"{where}: slot must be a snake_case name, got {slot!r}")
        if len(self.problems) > start or kind is None or anchor is None or timing is None:
            return None
        rule_ids = tuple(dict.fromkeys([rule, *also]))
        return Template(
            slot=slot,
            rule=str(rule),
            rule_ids=rule_ids,
            section=self.citations.get(str(rule), ""),
            kind=kind,
            role=Role(str(role)),
            title=str(title),
            title_fields=fields,
            occurrence_fields=tuple(
                name for name in ("day", "last_day", "month", "n") if name in fields
            ),
            anchor=anchor,
            base=ANCHOR_BASE.get(anchor, 0),
            timing=timing,
            before_days=int(before_days or 0),
            after_days=int(after_days or 0),
            hours_before=hours_before,
            due=str(due),
            when=when,
            phases=frozenset(CoursePhase(p) for p in phases) if phases else None,
            patient_phases=frozenset(Phase(p) for p in patient_phases) if patient_phases else None,
            regimens=frozenset(regimens) if regimens else None,
            safety=flags["safety"],
            blocks=blocks,
            result_fields=expand_panels(result_fields, self.lab_panels),
            panel=panel,
            dose=dose,
            while_on_treatment=flags["while_on_treatment"],
            clip_to_cycle=flags["clip_to_cycle"],
            response_window=flags["response_window"],
            requirement=requirement,
            required_when=required_when,
            fallback=fallback,
            note=note,
            shown=tuple(shown),
            defaults_used=tuple(sorted(set(used))),
            unconditional=not (when or phases or patient_phases or regimens),
            static_detail=_static_detail(anchor, rule_ids, hours_before, note),
            day_labels=tuple(f"d{day}" for day in timing.days),
            waits_on=waits_on,
            plan_fields=tuple(
                sorted(
                    fields
                    - {"day", "last_day", "month", "n", "dose", "next_cycle_day", "next_cycle_date"}
                )
            ),
        )

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
        if not _is_in(name, PREDICATES):
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

    def _day(self, where: str, raw: Any, anchor: str | None, used: list[str]) -> int | None:
        value = self.number(where, raw, used)
        if value is None or anchor is None:
            return value  # type: ignore[no-any-return]
        base = ANCHOR_BASE.get(anchor, 0)
        if anchor == "infusion_day":
            return int(value)
        if value < base:
            what = "day 1 is the first day" if base == 1 else "day 0 is the anchor date"
            self.problems.append(
                f"{where}: invalid day {value} for anchor {anchor} ({what}; use before_days for earlier days)"
            )
            return None
        return int(value)

    def _timing(
        self, where: str, raw: dict[str, Any], anchor: str | None, used: list[str]
    ) -> Timing | None:
        given = [key for key in TIMING_KEYS if key in raw]
        if anchor in WINDOW_ANCHORS:
            if given:
                self.problems.append(f"{where}: anchor {anchor} gives the window; remove {given}")
                return None
            return Timing("given")
        if not given:
            self.problems.append(
                f"{where}: task has no window (give day, days, every, span or months)"
            )
            return None
        if len(given) > 1:
            self.problems.append(
                f"{where}: give only one of day, days, every, span, months (got {given})"
            )
            return None
        extra = [key for key in REPEAT_KEYS if key in raw]
        if given[0] != "every" and extra:
            self.problems.append(f"{where}: {extra} only go with every")
        key = given[0]
        if key == "next_cycle":
            if raw["next_cycle"] is not True or anchor != "cycle_day":
                self.problems.append(f"{where}: next_cycle is true, on the cycle_day anchor")
                return None
            return Timing("next_cycle")
        if key == "day":
            day = self._day(f"{where}.day", raw["day"], anchor, used)
            return None if day is None else Timing("points", days=(day,))
        if key == "days":
            items = raw["days"]
            if not isinstance(items, list) or not items:
                self.problems.append(f"{where}.days: must be a non-empty list")
                return None
            days = [self._day(f"{where}.days", item, anchor, used) for item in items]
            if any(d is None for d in days):
                return None
            clean = tuple(d for d in days if d is not None)
            if len(set(clean)) != len(clean) or list(clean) != sorted(clean):
                self.problems.append(f"{where}.days: must be increasing without repeats")
                return None
            return Timing("points", days=clean)
        if key == "span":
            items = raw["span"]
            if not isinstance(items, list) or len(items) != 2:
                self.problems.append(f"{where}.span: must be [first day, last day]")
                return None
            first = self._day(f"{where}.span", items[0], anchor, used)
            last = self._day(f"{where}.span", items[1], anchor, used)
            if first is None or last is None:
                return None
            if first > last:
                self.problems.append(f"{where}.span: invalid day range {first}..{last}")
                return None
            return Timing("span", span=(first, last))
        if key == "months":
            spec = raw["months"]
            if (
                not isinstance(spec, dict)
                or set(spec) - {"every", "after", "through"}
                or "every" not in spec
            ):
                self.problems.append(f"{where}.months: needs every, optional after and through")
                return None
            every = self.number(f"{where}.months.every", spec["every"], used, minimum=1)
            after = self.number(f"{where}.months.after", spec.get("after", 0), used, minimum=0)
            through = None
            if "through" in spec:
                through = self.number(f"{where}.months.through", spec["through"], used, minimum=1)
            if every is None or after is None or ("through" in spec and through is None):
                return None
            if through is not None and through < after + every:
                self.problems.append(
                    f"{where}.months: invalid range (through {through} before the first month)"
                )
                return None
            return Timing("months", every=every, month_after=after, month_through=through)
        every = self.number(f"{where}.every", raw["every"], used, minimum=1)
        if ("from" in raw) == ("after" in raw):
            self.problems.append(f"{where}: every needs exactly one of from or after")
            return None
        if "from" in raw:
            first = self._day(f"{where}.from", raw["from"], anchor, used)
        else:
            after = self._day(f"{where}.after", raw["after"], anchor, used)
            first = None if after is None or every is None else after + every
        bounds = [k for k in ("to", "count", "through_months") if k in raw]
        if len(bounds) > 1:
            self.problems.append(f"{where}: give at most one of to, count, through_months")
            return None
        if every is None or first is None:
            return None
        if "to" in raw:
            last = self._day(f"{where}.to", raw["to"], anchor, used)
            if last is None:
                return None
            if last < first:
                self.problems.append(f"{where}: invalid day range {first}..{last}")
                return None
            if (last - first) // every >= MAX_OCCURRENCES:
                self.problems.append(f"{where}: more than {MAX_OCCURRENCES} occurrences")
                return None
            return Timing("points", days=tuple(range(first, last + 1, every)))
        if "count" in raw:
            count = self.number(f"{where}.count", raw["count"], used, minimum=1)
            if count is None:
                return None
            if count > MAX_OCCURRENCES:
                self.problems.append(f"{where}: more than {MAX_OCCURRENCES} occurrences")
                return None
            return Timing("points", days=tuple(first + every * k for k in range(count)))
        through = None
        if "through_months" in raw:
            through = self.number(f"{where}.through_months", raw["through_months"], used, minimum=1)
            if through is None:
                return None
        return Timing("repeat", every=every, first=first, through_months=through)

    def _dose(
        self,
        where: str,
        raw: Any,
        rule_ids: tuple[Any, ...],
        timing: Timing | None,
        used: list[str],
    ) -> DoseSpec | None:
        if not isinstance(raw, dict):
            self.problems.append(f"{where}: must be a mapping")
            return None
        ids = tuple(str(r) for r in rule_ids if r)
        days = timing.days if timing is not None and timing.mode == "points" else ()
        name = raw.get("rule")
        if name is not None:
            rule = DOSE_RULES.get(name) if isinstance(name, str) else None
            if rule is None:
                self.problems.append(f"{where}: unknown dose rule {name!r}")
                return None
            params: dict[str, Any] = {}
            for param, shape in rule.params.items():
                if param not in raw:
                    self.problems.append(f"{where}: dose rule {name} needs {param}")
                    continue
                params[param] = (
                    self._by_day(f"{where}.{param}", raw[param], days, used)
                    if shape == "by_day"
                    else raw[param]
                )
            unknown = set(raw) - {"rule", "drug", "unit", *rule.params}
            if unknown:
                self.problems.append(f"{where}: unknown dose keys {sorted(unknown)}")
            return DoseSpec(
                rule=name,
                drug=str(raw.get("drug", "")),
                unit=str(raw.get("unit", "")),
                params=params,
                rule_ids=ids,
            )
        unknown = set(raw) - {"drug", "unit", "amount", "by_day", "cap"}
        if unknown:
            self.problems.append(f"{where}: unknown dose keys {sorted(unknown)}")
        if not isinstance(raw.get("drug"), str) or not isinstance(raw.get("unit"), str):
            self.problems.append(f"{where}: needs drug and unit (or a dose rule)")
            return None
        if ("amount" in raw) == ("by_day" in raw):
            self.problems.append(f"{where}: give amount or by_day")
            return None
        if "amount" in raw:
            amount = self.number(f"{where}.amount", raw["amount"], used, integer=False, minimum=0)
            amounts = {0: float(amount)} if amount is not None else {}
        else:
            amounts = self._by_day(f"{where}.by_day", raw["by_day"], days, used)
        cap = None
        if "cap" in raw:
            cap = self.number(f"{where}.cap", raw["cap"], used, integer=False, minimum=0)
        return DoseSpec(
            rule=None,
            drug=raw["drug"],
            unit=raw["unit"],
            amounts=amounts,
            cap=None if cap is None else float(cap),
            rule_ids=ids,
        )

    def _by_day(
        self, where: str, raw: Any, days: tuple[int, ...], used: list[str]
    ) -> dict[int, float]:
        if not isinstance(raw, dict) or not raw:
            self.problems.append(f"{where}: must map days to amounts")
            return {}
        out: dict[int, float] = {}
        for day, amount in raw.items():
            value = self.number(f"{where}[{day}]", amount, used, integer=False, minimum=0)
            if not isinstance(day, int) or value is None:
                self.problems.append(f"{where}: invalid entry {day!r}: {amount!r}")
                continue
            out[day] = float(value)
        missing = [d for d in days if d not in out]
        if missing:
            self.problems.append(f"{where}: no amount for day(s) {missing}")
        return out

    # -- sections --------------------------------------------------------------

    def regimens(self, raw: Any) -> dict[str, Regimen]:
        out: dict[str, Regimen] = {}
        if not isinstance(raw, dict):
            self.problems.append("regimens: must map regimen ids to regimens")
            return out
        owner: dict[str, str] = {}
        for regimen_id, spec in raw.items():
            where = f"regimens.{regimen_id}"
            if not isinstance(spec, dict):
                self.problems.append(f"{where}: must be a mapping")
                continue
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
            anchor = spec.get("anchor", "cycle_day")
            first_used: list[str] = []
            later_used: list[str] = []
            first = later = None
            length = spec.get("cycle_length")
            if length is not None:
                if not isinstance(length, dict) or set(length) - {"first", "later"} or not length:
                    self.problems.append(f"{where}.cycle_length: needs first and/or later")
                else:
                    if "first" in length:
                        first = self.number(
                            f"{where}.cycle_length.first", length["first"], first_used, minimum=1
                        )
                    if "later" in length:
                        later = self.number(
                            f"{where}.cycle_length.later", length["later"], later_used, minimum=1
                        )
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
                continue
            tasks: list[Template] = []
            slots: dict[tuple[str, str], int] = {}
            for index, task in enumerate(tasks_raw):
                slot = task.get("slot") if isinstance(task, dict) else None
                label = f"{where}.tasks[{index}]" + (f" ({slot})" if slot else "")
                if isinstance(task, dict) and "slot" not in task:
                    self.problems.append(f"{label}: needs a slot")
                    continue
                template = self.template(
                    label, task, "regimens", slot=str(slot), default_anchor=anchor
                )
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
            self._check_blocks(where, tasks)
            out[str(regimen_id)] = Regimen(
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
        return out

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


def _is_in(value: Any, names: Any) -> bool:
    """Membership that refuses, rather than crashes on, a malformed (unhashable) value."""
    return isinstance(value, str) and value in names


def _enum(kind: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        return kind(value)
    except ValueError:
        return None


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
