"""Compiles (and validates) the ``indicators`` section against what the templates plan.

Every problem goes to the loader's one list; see ``pathways.indicators`` for the
section's vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pathways.core.labs import expand_panels, raw_panels
from pathways.indicator_values import (
    ANTIGENS,
    CONDITIONS,
    COURSE_PHASES,
    EVIDENCE_UNITS,
    FITNESS_INSTRUMENTS,
    ID,
    KINDS,
    NEEDS_PLANNED,
    OPTION_IDS,
    UNIT_POPULATION,
    UNIT_WINDOWS,
    UNITS,
    WINDOW_KINDS,
    Evidence,
    Indicator,
    Population,
    TaskFilter,
    Window,
)
from pathways.model import ValidationContext

# -- what the schedule templates plan ---------------------------------------------


@dataclass
class _Planned:
    """The rules, slots, kinds and result fields of the definition's task templates."""

    slots: dict[str, set[str]] = field(default_factory=dict)
    kinds: dict[str, set[str]] = field(default_factory=dict)
    results: dict[str, set[str]] = field(default_factory=dict)
    # The lab catalogue's panels: a result_fields entry may name one (labs.yaml).
    panels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def add(self, spec: Any, slot: Any) -> None:
        if not isinstance(spec, dict) or not isinstance(spec.get("rule"), str):
            return
        rule = spec["rule"]
        self.slots.setdefault(rule, set()).add(str(slot))
        self.kinds.setdefault(rule, set()).add(str(spec.get("kind")))
        fields = spec.get("result_fields")
        names = [str(f) for f in (fields if isinstance(fields, list) else ())]
        self.results.setdefault(rule, set()).update(expand_panels(names, self.panels))


def _planned(raw: Mapping[str, Any]) -> _Planned:
    planned = _Planned(panels=raw_panels(raw.get("labs")))
    regimens = raw.get("regimens")
    if isinstance(regimens, dict):
        for regimen in regimens.values():
            tasks = regimen.get("tasks") if isinstance(regimen, dict) else None
            for spec in tasks if isinstance(tasks, list) else ():
                planned.add(spec, spec.get("slot") if isinstance(spec, dict) else None)
    for section in ("followup", "workup"):
        named = raw.get(section)
        if isinstance(named, dict):
            for name, spec in named.items():
                planned.add(spec, name)
    return planned


# -- compiling (and validating) the section ---------------------------------------


class IndicatorCompiler:
    def __init__(self, ctx: ValidationContext) -> None:
        self.ctx = ctx
        self.problems = ctx.problems
        self.planned = _planned(ctx.raw)
        machines = ctx.raw.get("machines")
        self.tracks: dict[str, frozenset[str]] = {}
        if isinstance(machines, dict):
            for name, spec in machines.items():
                states = spec.get("states") if isinstance(spec, dict) else None
                self.tracks[str(name)] = frozenset(states or ())

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    # -- small readers

    def text(self, where: str, spec: Any, key: str = "text") -> str:
        value = spec.get(key) if isinstance(spec, dict) else None
        if not isinstance(value, str) or not value.strip():
            self.problem(where, f"needs a {key}")
            return ""
        return value.strip()

    def names(self, where: str, value: Any, known: frozenset[str] | None = None) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(where, "must be a list of names")
            return ()
        if known is not None:
            for v in value:
                if v not in known:
                    self.problem(where, f"unknown {v!r}")
        return tuple(value)

    def conditions(self, where: str, value: Any) -> tuple[str, ...]:
        names = self.names(where, value)
        for name in names:
            if name not in CONDITIONS:
                self.problem(
                    where, f"unknown condition {name!r} (known: {', '.join(sorted(CONDITIONS))})"
                )
        return tuple(n for n in names if n in CONDITIONS)

    def cycle(self, where: str, value: Any) -> int | None:
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.problem(where, "cycle must be a whole number >= 1")
            return None
        return value

    def task_filter(self, where: str, spec: Any, *, results_ok: bool = True) -> TaskFilter | None:
        if not isinstance(spec, dict):
            self.problem(where, "must be a mapping with rules")
            return None
        unknown = set(spec) - {"rules", "slots", "kinds", "cycle", "course_phases", "with_results"}
        for key in sorted(unknown):
            self.problem(where, f"unknown key {key!r}")
        rules = self.names(f"{where}.rules", spec.get("rules"))
        if not rules:
            self.problem(where, "needs a non-empty list of task rules")
        for rule in rules:
            if rule not in self.ctx.rule_ids:
                self.problem(f"{where}.rules", f"unknown rule id {rule!r}")
            elif rule not in self.planned.slots:
                self.problem(f"{where}.rules", f"no task template plans rule {rule!r}")
        slots = self.names(f"{where}.slots", spec.get("slots"))
        for slot in slots:
            if not any(slot in self.planned.slots.get(r, ()) for r in rules):
                self.problem(f"{where}.slots", f"no template of {list(rules)} has slot {slot!r}")
        kinds = self.names(f"{where}.kinds", spec.get("kinds"), KINDS)
        for kind in kinds:
            if kind in KINDS and not any(kind in self.planned.kinds.get(r, ()) for r in rules):
                self.problem(f"{where}.kinds", f"no template of {list(rules)} plans kind {kind!r}")
        with_results = self.names(f"{where}.with_results", spec.get("with_results"))
        if with_results and not results_ok:
            self.problem(where, "with_results is not read here")
        for name in with_results:
            if not any(name in self.planned.results.get(r, ()) for r in rules):
                self.problem(
                    f"{where}.with_results", f"no template of {list(rules)} asks for {name!r}"
                )
        return TaskFilter(
            rules=rules,
            slots=slots,
            kinds=kinds,
            cycle=self.cycle(f"{where}.cycle", spec.get("cycle")),
            course_phases=self.names(
                f"{where}.course_phases", spec.get("course_phases"), COURSE_PHASES
            ),
            with_results=with_results,
        )

    def default_ref(self, where: str, value: Any) -> str | None:
        if isinstance(value, dict) and set(value) == {"default"}:
            name = value["default"]
            self.ctx.check_default(where, name)
            return str(name)
        self.problem(where, "must be {default: name}")
        return None

    def positive_int(self, where: str, value: Any) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        self.problem(where, "must be a whole number > 0")
        return None

    # -- sections of an indicator

    def population(self, where: str, unit: str, spec: Any) -> Population:
        if not isinstance(spec, dict):
            self.problem(where, "missing (needs text and the population)")
            return Population(text="")
        allowed = {
            "task": {"text", "tasks", "where", "any_of"},
            "episode": {"text", "planned", "starts_induction", "where", "any_of"},
            "course": {"text", "courses", "where", "any_of"},
            "dose": {"text", "doses", "where", "any_of"},
        }[unit]
        for key in sorted(set(spec) - allowed):
            self.problem(where, f"{key!r} does not apply to unit {unit!r}")
        text = self.text(where, spec)
        any_of = spec.get("any_of")
        groups: list[tuple[str, ...]] = []
        if any_of is not None:
            if not isinstance(any_of, list) or not all(isinstance(g, list) for g in any_of):
                self.problem(f"{where}.any_of", "must be a list of condition lists")
            else:
                groups = [self.conditions(f"{where}.any_of", g) for g in any_of]
        population = Population(
            text=text,
            where=self.conditions(f"{where}.where", spec.get("where")),
            any_of=tuple(groups),
            starts_induction=spec.get("starts_induction") is True,
        )
        key = UNIT_POPULATION.get(unit)
        if unit == "episode":
            planned = spec.get("planned")
            return replace(
                population,
                planned=None if planned is None else self.task_filter(f"{where}.planned", planned),
            )
        if key is None or key not in spec:
            self.problem(where, f"unit {unit!r} needs {key!r}")
            return population
        if unit == "course":
            courses = spec[key]
            if not isinstance(courses, dict):
                self.problem(f"{where}.courses", "must be a mapping with regimens")
                return population
            for extra in sorted(set(courses) - {"regimens", "cycle", "course_phases"}):
                self.problem(f"{where}.courses", f"unknown key {extra!r}")
            regimens = self.names(f"{where}.courses.regimens", courses.get("regimens"), OPTION_IDS)
            if not regimens:
                self.problem(f"{where}.courses", "needs regimens")
            return replace(
                population,
                regimens=regimens,
                cycle=self.cycle(f"{where}.courses.cycle", courses.get("cycle")),
                course_phases=self.names(
                    f"{where}.courses.course_phases", courses.get("course_phases"), COURSE_PHASES
                ),
            )
        return replace(
            population, tasks=self.task_filter(f"{where}.{key}", spec[key], results_ok=False)
        )

    def evidence(self, where: str, unit: str, spec: Any, computable: bool) -> Evidence:
        found = self._evidence_kind(where, unit, spec, computable)
        if isinstance(found, Evidence):
            return found
        text, kind = found
        value = spec[kind]
        at = f"{where}.{kind}"
        evidence = Evidence(text=text, kind=kind)
        if kind == "on_time":
            if value is not True:
                self.problem(at, "must be true")
            return evidence
        if kind == "first_induction":
            options = self.names(at, value, OPTION_IDS)
            if not options:
                self.problem(at, "needs option ids")
            return replace(evidence, options=options)
        if not isinstance(value, dict):
            self.problem(at, "must be a mapping")
            return evidence
        readers = {
            "done": self._done,
            "fitness": self._fitness,
            "antigen": self._antigen,
            "prephase": self._prephase,
            "tki": self._tki,
            "labs_before": self._labs_before,
            "premedication_and_observation": self._premedication,
            "marrow": self._marrow,
        }
        return readers.get(kind, self._track_event)(at, value, evidence)

    def _evidence_kind(
        self, where: str, unit: str, spec: Any, computable: bool
    ) -> tuple[str, str] | Evidence:
        """The evidence's text and kind, or the empty evidence of a problem."""
        if not isinstance(spec, dict):
            self.problem(where, "missing (needs text and the evidence)")
            return Evidence(text="", kind=None)
        text = self.text(where, spec)
        kinds = [k for k in spec if k != "text"]
        if not computable:
            if kinds:
                self.problem(where, "an indicator that is not computable states no evidence")
            return Evidence(text=text, kind=None)
        if len(kinds) != 1 or kinds[0] not in EVIDENCE_UNITS:
            self.problem(
                where,
                f"needs exactly one evidence of {', '.join(EVIDENCE_UNITS)} (found {kinds or 'none'})",
            )
            return Evidence(text=text, kind=None)
        kind = kinds[0]
        if EVIDENCE_UNITS[kind] != unit:
            self.problem(
                where, f"{kind!r} is evidence for unit {EVIDENCE_UNITS[kind]!r}, not {unit!r}"
            )
        return text, kind

    def _done(self, at: str, value: dict[str, Any], evidence: Evidence) -> Evidence:
        all_of = value.get("all") is True
        inner = {k: v for k, v in value.items() if k != "all"}
        return replace(evidence, tasks=self.task_filter(at, inner), all_of=all_of)

    def _fitness(self, at: str, value: dict[str, Any], evidence: Evidence) -> Evidence:
        self._keys(at, value, {"instruments", "rules"})
        instruments = self.names(f"{at}.instruments", value.get("instruments"))
        for name in instruments:
            if name not in FITNESS_INSTRUMENTS:
                self.problem(f"{at}.instruments", f"unknown instrument {name!r}")
        if not instruments:
            self.problem(at, "needs instruments")
        tasks = self.task_filter(at, {"rules": value.get("rules")})
        return replace(evidence, instruments=instruments, tasks=tasks)

    def _antigen(self, at: str, value: dict[str, Any], evidence: Evidence) -> Evidence:
        pairs = []
        for antigen, regimens in value.items():
            if antigen not in ANTIGENS:
                self.problem(at, f"unknown antigen {antigen!r}")
                continue
            pairs.append((str(antigen), self.names(f"{at}.{antigen}", regimens, OPTION_IDS)))
        if not pairs:
            self.problem(at, "needs cd19 and/or cd22 regimens")
        return replace(evidence, antigens=tuple(pairs))

    def _prephase(self, at: str, value: dict[str, Any], evidence: Evidence) -> Evidence:
        self._keys(at, value, {"days", "rules", "slots"})
        tasks = self.task_filter(at, {"rules": value.get("rules"), "slots": value.get("slots")})
        return replace(
            evidence, days=self.positive_int(f"{at}.days", value.get("days")), tasks=tasks
        )

    def _tki(self, at: str, value: dict[str, Any], evidence: Evidence) -> Evidence:
        self._keys(at, value, {"medications", "result_rules"})
        medications = self.names(f"{at}.medications", value.get("medications"))
        if not medications:
            self.problem(at, "needs medications")
        tasks = self.task_filter(at, {"rules": value.get("result_rules")})
        return replace(evidence, options=medications, tasks=tasks)

    def _labs_before(self, at: str, value: dict[str, Any], evidence: Evidence) -> Evidence:
        self._keys(at, value, {"codes", "hours", "rules", "slots"})
        codes = expand_panels(self.names(f"{at}.codes", value.get("codes")), self.planned.panels)
        if not codes:
            self.problem(at, "needs lab codes")
        companion = self.task_filter(at, {"rules": value.get("rules"), "slots": value.get("slots")})
        if companion is not None:
            asked = set().union(*(self.planned.results.get(r, set()) for r in companion.rules))
            for code in codes:
                if code not in asked:
                    self.problem(
                        f"{at}.codes",
                        f"the {list(companion.rules)} task does not ask for {code!r}",
                    )
        return replace(
            evidence,
            codes=codes,
            hours_default=self.default_ref(f"{at}.hours", value.get("hours")),
            companion=companion,
        )

    def _premedication(self, at: str, value: dict[str, Any], evidence: Evidence) -> Evidence:
        self._keys(at, value, {"premedication", "observation", "from", "to", "minutes"})
        premed = self.task_filter(f"{at}.premedication", {"rules": value.get("premedication")})
        observation = self.task_filter(
            f"{at}.observation",
            {
                "rules": value.get("observation"),
                "with_results": [value.get("from"), value.get("to")],
            },
        )
        return replace(
            evidence,
            tasks=premed,
            companion=observation,
            from_field=str(value.get("from")),
            to_field=str(value.get("to")),
            minutes=self.positive_int(f"{at}.minutes", value.get("minutes")),
        )

    def _marrow(self, at: str, value: dict[str, Any], evidence: Evidence) -> Evidence:
        self._keys(at, value, {"with_mrd"})
        return replace(evidence, with_mrd=value.get("with_mrd") is True)

    def _track_event(self, at: str, value: dict[str, Any], evidence: Evidence) -> Evidence:
        self._keys(at, value, {"track", "from", "to"})
        track = value.get("track")
        states = self.tracks.get(str(track))
        if states is None:
            self.problem(at, f"unknown track {track!r}")
        else:
            for key in ("from", "to"):
                if value.get(key) not in states:
                    self.problem(
                        f"{at}.{key}", f"unknown state {value.get(key)!r} of track {track!r}"
                    )
        return replace(
            evidence,
            track=str(track),
            from_state=str(value.get("from")),
            to_state=str(value.get("to")),
        )

    def _keys(self, where: str, value: Mapping[str, Any], allowed: set[str]) -> None:
        for key in sorted(set(value) - allowed):
            self.problem(where, f"unknown key {key!r}")

    def window(self, where: str, unit: str, spec: Any) -> Window:
        if not isinstance(spec, dict):
            self.problem(where, "missing (needs text and kind)")
            return Window(text="", kind="")
        self._keys(where, spec, {"text", "kind", "defaults"})
        text = self.text(where, spec)
        kind = spec.get("kind")
        if kind not in WINDOW_KINDS:
            self.problem(where, f"kind must be one of {', '.join(WINDOW_KINDS)}")
            kind = ""
        elif kind not in UNIT_WINDOWS[unit]:
            self.problem(where, f"kind {kind!r} does not apply to unit {unit!r}")
        defaults = self.names(f"{where}.defaults", spec.get("defaults"))
        for name in defaults:
            self.ctx.check_default(f"{where}.defaults", name)
        return Window(text=text, kind=str(kind), defaults=defaults)

    def indicator(self, key: Any, spec: Any) -> Indicator | None:
        where = f"indicators.{key}"
        if not isinstance(key, str) or not ID.match(key):
            self.problem(where, "id must be QM-nn (a part: QM-nna) or OPT-<RULE>-nn")
            return None
        if not isinstance(spec, dict):
            self.problem(where, "must be a mapping")
            return None
        known = {
            "title", "rules", "unit", "optional", "computable", "reason", "target",
            "denominator", "numerator", "exclusions", "window", "measure",
        }  # fmt: skip
        self._keys(where, spec, known)
        measure = spec.get("measure")
        if key.startswith("QM-"):
            catalogued = measure if measure is not None else key
            if catalogued not in self.ctx.rule_ids:
                self.problem(where, f"unknown measure {catalogued!r} (RULES.md §8)")
            if measure is not None and not key.startswith(f"{measure}"):
                self.problem(where, f"a part of {measure!r} is named {measure}a, {measure}b...")
        elif spec.get("optional") is not True:
            self.problem(where, "an OPT- measure must say optional: true")
        title = self.text(where, spec, "title")
        self.ctx.check_rules(f"{where}.rules", spec.get("rules"))
        unit = spec.get("unit")
        if unit not in UNITS:
            self.problem(where, f"unit must be one of {', '.join(UNITS)}")
            return None
        computable = spec.get("computable", True)
        if not isinstance(computable, bool):
            self.problem(where, "computable must be true or false")
            computable = True
        reason = spec.get("reason")
        if not computable and (not isinstance(reason, str) or len(reason.strip()) < 20):
            self.problem(where, "not computable: needs a reason (what is not recorded, and why)")
        target = spec.get("target")
        if target is not None and (
            not isinstance(target, int | float) or isinstance(target, bool) or not 0 <= target <= 1
        ):
            self.problem(where, "target must be a rate between 0 and 1")
            target = None
        denominator = self.population(f"{where}.denominator", unit, spec.get("denominator"))
        numerator = self.evidence(f"{where}.numerator", unit, spec.get("numerator"), computable)
        window = self.window(f"{where}.window", unit, spec.get("window"))
        if computable and numerator.kind in NEEDS_PLANNED and denominator.planned is None:
            self.problem(where, f"{numerator.kind!r} evidence needs denominator.planned tasks")
        if (
            computable
            and unit == "episode"
            and window.kind in ("task", "workup")
            and denominator.planned is None
        ):
            self.problem(where, f"a {window.kind!r} window needs denominator.planned tasks")
        if computable and numerator.all_of and not denominator.starts_induction:
            self.problem(where, "an all-of measure is judged at IND_D1: it needs starts_induction")
        return Indicator(
            id=key,
            title=title,
            rule_ids=tuple(spec.get("rules") or ()),
            unit=str(unit),
            denominator=denominator,
            numerator=numerator,
            window=window,
            exclusions=self.conditions(f"{where}.exclusions", spec.get("exclusions")),
            optional=spec.get("optional") is True,
            computable=computable,
            reason=reason.strip() if isinstance(reason, str) else None,
            target=None if target is None else float(target),
            measure=measure if isinstance(measure, str) else None,
        )

    def section(self, raw: Any) -> tuple[Indicator, ...]:
        if not isinstance(raw, dict) or not raw:
            self.problem("indicators", "must map indicator ids to indicators")
            return ()
        out = [self.indicator(key, spec) for key, spec in raw.items()]
        return tuple(i for i in out if i is not None)
