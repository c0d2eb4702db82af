"""Load, validate and compile a versioned pathway definition.

A definition is a folder ``definitions/<name>/<version>/`` of YAML files whose
top-level sections are merged (a section defined in two files is an error).
Loading checks everything at once and raises one ``DefinitionError`` listing
every problem: unknown states, guards, task kinds or rule ids, unreachable or
trap states, tasks without a window, defaults without a basis.

Section validators live beside the code that uses the section and are listed
here, in ``SECTIONS``; a section nobody validates is itself a problem, so a
typo in a section name cannot silently switch a rule off. The values the
loader returns are ``pathways.model``'s, which the section owners import:
the loader sits above them all.

Institution policy overrides ``defaults`` only, by name, with a value of the
same type; an unknown name or a wrong type is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from pathways.copies import hours_problems, lab_problems, vocabulary_problems
from pathways.core.labs import LLN_SETTING, ULN_SETTING, LabCatalogue
from pathways.core.labs_file import References, parse_catalogue
from pathways.errors import DefinitionError
from pathways.guards import GUARDS
from pathways.indicators import validate_indicators
from pathways.machine import Machine, Transition, check_machine
from pathways.model import DefaultSetting, Definition, RuleInfo, SectionValidator, ValidationContext
from pathways.monitoring_read import PANELS_READ, TESTS_READ
from pathways.not_implemented import validate_not_implemented
from pathways.schedules.compiler import validate_followup, validate_regimens
from pathways.schedules.workup import validate_workup
from pathways.selection import validate_selection_section

DEFINITIONS_DIR = Path(__file__).parent / "definitions"
CATALOGUE_FILE = DEFINITIONS_DIR / "rules-catalogue.yaml"
DEFAULT_PATHWAY = "rr-all-adult"
DEFAULT_TAGS = frozenset({"SRC", "DER", "DEFAULT"})

# Sections other than meta, machines, defaults and labs, each with the function
# (beside the code that reads the section) that validates it.
SECTIONS: tuple[tuple[str, SectionValidator], ...] = (
    ("followup", validate_followup),
    ("indicators", validate_indicators),
    ("not_implemented", validate_not_implemented),
    ("regimens", validate_regimens),
    ("selection", validate_selection_section),
    ("workup", validate_workup),
)
SECTION_VALIDATORS: Mapping[str, SectionValidator] = dict(SECTIONS)
CORE_SECTIONS = frozenset({"name", "version", "source", "machines", "defaults", "labs"})


# libyaml's parser when PyYAML has it (the wheels do): the same safe constructors, a
# tenth of the time; the pure-Python parser was seconds of every command and the demo.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


@lru_cache(maxsize=1)
def load_catalogue() -> Mapping[str, RuleInfo]:
    raw = _yaml(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return {
        rule_id: RuleInfo(
            id=rule_id,
            section=str(entry["section"]),
            tag=entry.get("tag"),
            sources=tuple(entry.get("sources") or ()),
            text=entry.get("text", ""),
        )
        for rule_id, entry in raw.items()
    }


def available_versions(name: str = DEFAULT_PATHWAY) -> list[str]:
    folder = DEFINITIONS_DIR / name
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def _read_folder(folder: Path, problems: list[str]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    files = sorted(folder.glob("*.yaml"))
    if not files:
        problems.append(f"{folder}: no definition files")
    for path in files:
        try:
            data = _yaml(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            problems.append(f"{path.name}: not valid YAML: {exc}")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path.name}: top level must be a mapping")
            continue
        for key, value in data.items():
            if key not in merged:
                merged[key] = value
                origin[key] = path.name
                if isinstance(value, dict):
                    origin.update({f"{key}.{name}": path.name for name in value})
                continue
            # A mapping section may be spread over several files (defaults,
            # regimens...); a name defined twice is still an error.
            if isinstance(merged[key], dict) and isinstance(value, dict):
                for name, entry in value.items():
                    if name in merged[key]:
                        problems.append(
                            f"{path.name}: {key}.{name} already defined in {origin[f'{key}.{name}']}"
                        )
                        continue
                    merged[key][name] = entry
                    origin[f"{key}.{name}"] = path.name
                continue
            problems.append(f"{path.name}: section {key!r} already defined in {origin[key]}")
    return merged


def _compile_defaults(
    raw: Any, overrides: Mapping[str, Any], ctx: ValidationContext
) -> dict[str, DefaultSetting]:
    problems = ctx.problems
    settings: dict[str, DefaultSetting] = {}
    if not isinstance(raw, dict):
        problems.append("defaults: must be a mapping of name -> setting")
        return settings
    for name, entry in raw.items():
        where = f"defaults.{name}"
        if not isinstance(entry, dict) or "value" not in entry:
            problems.append(f"{where}: needs a value")
            continue
        tag = entry.get("tag")
        if tag not in DEFAULT_TAGS:
            problems.append(f"{where}: tag must be one of SRC, DER, DEFAULT")
        if not entry.get("basis"):
            problems.append(f"{where}: needs a basis (why this value)")
        ctx.check_rules(where, entry.get("rules"))
        choices = entry.get("choices")
        value = entry["value"]
        if choices is not None and value not in choices:
            problems.append(f"{where}: value {value!r} is not one of {choices}")
        settings[name] = DefaultSetting(
            name=name,
            value=value,
            tag=str(tag),
            rule_ids=tuple(entry.get("rules") or ()),
            basis=str(entry.get("basis", "")),
            unit=entry.get("unit"),
            choices=tuple(choices) if choices is not None else None,
            shipped_value=value,
        )
    for name, value in overrides.items():
        where = f"policy override {name!r}"
        if name not in settings:
            problems.append(f"{where}: no such default")
            continue
        shipped = settings[name]
        if not _same_type(shipped.value, value):
            problems.append(
                f"{where}: expected {type(shipped.value).__name__}, got {type(value).__name__}"
            )
            continue
        if shipped.choices is not None and value not in shipped.choices:
            problems.append(f"{where}: {value!r} is not one of {list(shipped.choices)}")
            continue
        settings[name] = DefaultSetting(
            name=name,
            value=value,
            tag=shipped.tag,
            rule_ids=shipped.rule_ids,
            basis=shipped.basis,
            unit=shipped.unit,
            choices=shipped.choices,
            shipped_value=shipped.value,
            overridden=value != shipped.value,
        )
    return settings


def _same_type(shipped: Any, value: Any) -> bool:
    if isinstance(shipped, bool) or isinstance(value, bool):
        return isinstance(shipped, bool) and isinstance(value, bool)
    if isinstance(shipped, int | float):
        return isinstance(value, int | float)
    return isinstance(value, type(shipped))


def _compile_labs(
    raw: Any, defaults: Mapping[str, DefaultSetting], ctx: ValidationContext
) -> LabCatalogue:
    """The lab catalogue, with the local reference range as the (possibly overridden) defaults."""
    uln, lln = defaults.get(ULN_SETTING), defaults.get(LLN_SETTING)
    references = References(
        uln=uln.value if uln else {},
        lln=lln.value if lln else {},
        uln_overridden=bool(uln and uln.overridden),
        lln_overridden=bool(lln and lln.overridden),
    )
    return parse_catalogue(raw, references, ctx.rule_ids, ctx.problems)


STATE_KEYS = frozenset({"rule", "title", "default"})


def _state_key_problems(where: str, meta: Mapping[str, Any]) -> list[str]:
    """A state names its rule, title and default flag, nothing else.

    An unquoted comma in a YAML flow mapping (``{title: Post-remission, no HCT}``)
    silently cuts the title and adds a key; refusing unknown keys catches it.
    """
    return [
        f"{where}: unknown key {key!r} (a title with a comma must be quoted)"
        for key in meta
        if key not in STATE_KEYS
    ]


def _compile_machines(raw: Any, ctx: ValidationContext) -> dict[str, Machine]:
    problems = ctx.problems
    machines: dict[str, Machine] = {}
    if not isinstance(raw, dict) or "main" not in raw:
        problems.append("machines: must define at least the 'main' machine")
        return machines
    for name, spec in raw.items():
        where = f"machines.{name}"
        states = spec.get("states") or {}
        for state, meta in states.items():
            ctx.check_rules(f"{where}.states.{state}", [meta.get("rule")])
            problems.extend(_state_key_problems(f"{where}.states.{state}", meta))
        transitions = spec.get("transitions") or []
        shape = []
        compiled = []
        for index, t in enumerate(transitions):
            event = t.get("event", f"#{index}")
            sources = t.get("from") or []
            guards = t.get("guards") or []
            ctx.check_rules(f"{where}.{event}", t.get("rules"))
            shape.append((event, sources, t.get("to", ""), guards))
            compiled.append(
                Transition(
                    event=event,
                    sources=tuple(sources),
                    target=t.get("to", ""),
                    rule_ids=tuple(t.get("rules") or ()),
                    guards=tuple(GUARDS[g] for g in guards if g in GUARDS),
                    title=t.get("title", ""),
                    default=bool(t.get("default", False)),
                )
            )
        problems.extend(
            check_machine(
                where, states.keys(), spec.get("initial", ""), spec.get("finals") or [], shape
            )
        )
        machines[name] = Machine(
            name=name,
            states=states,
            initial=spec.get("initial", ""),
            finals=frozenset(spec.get("finals") or ()),
            transitions=tuple(compiled),
        )
    events: dict[str, str] = {}
    for machine in machines.values():
        for event in machine.events:
            if event in events and events[event] != machine.name:
                problems.append(f"machines: event {event!r} is defined in two machines")
            events[event] = machine.name
    return machines


def load_definition(
    name: str = DEFAULT_PATHWAY,
    version: str | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    folder: Path | None = None,
) -> Definition:
    """Load and validate one definition; raise ``DefinitionError`` listing every problem."""
    problems: list[str] = []
    if folder is None:
        versions = available_versions(name)
        if not versions:
            raise DefinitionError(name, [f"no definition named {name!r} in {DEFINITIONS_DIR}"])
        version = version or versions[-1]
        if version not in versions:
            raise DefinitionError(
                name, [f"no version {version!r} (available: {', '.join(versions)})"]
            )
        folder = DEFINITIONS_DIR / name / version
    raw = _read_folder(folder, problems)
    catalogue = load_catalogue()
    ctx = ValidationContext(
        rule_ids=frozenset(catalogue),
        defaults=raw.get("defaults") or {},
        states={
            m: frozenset((spec or {}).get("states") or ())
            for m, spec in (raw.get("machines") or {}).items()
        },
        problems=problems,
        raw=raw,
    )
    for key in ("name", "version"):
        if not raw.get(key):
            problems.append(f"{key}: required")
    if raw.get("name") and raw["name"] != name:
        problems.append(f"name: file says {raw['name']!r}, folder says {name!r}")
    if version is not None and raw.get("version") and str(raw["version"]) != version:
        problems.append(f"version: file says {raw['version']!r}, folder says {version!r}")
    machines = _compile_machines(raw.get("machines"), ctx)
    defaults = _compile_defaults(raw.get("defaults") or {}, overrides or {}, ctx)
    labs = _compile_labs(raw.get("labs"), defaults, ctx)
    # The copies of one fact in the definition and in the code agree.
    if machines:
        problems += vocabulary_problems(machines)
    if raw.get("labs"):
        problems += lab_problems(labs, "monitoring rules", TESTS_READ, PANELS_READ)
    problems += hours_problems(defaults)
    # Kept as read too: other sections name its panels (result_fields, indicators).
    sections: dict[str, Any] = {"labs": raw.get("labs")}
    for key, value in raw.items():
        if key in CORE_SECTIONS:
            continue
        validator = SECTION_VALIDATORS.get(key)
        if validator is None:
            problems.append(
                f"{key}: unknown section (known: {', '.join(sorted(SECTION_VALIDATORS))})"
            )
            continue
        validator(value, ctx)
        sections[key] = value
    if problems:
        raise DefinitionError(name, problems)
    return Definition(
        name=str(raw["name"]),
        version=str(raw["version"]),
        source=str(raw.get("source", "")),
        rules=catalogue,
        machines=machines,
        defaults=defaults,
        sections=sections,
        labs=labs,
    )


@lru_cache(maxsize=8)
def shipped_definition(name: str = DEFAULT_PATHWAY, version: str | None = None) -> Definition:
    """The definition as shipped, without institution overrides (cached)."""
    return load_definition(name, version)
