"""A pathway definition as values: what every part of the engine reads.

The leaf under the loader (``pathways.loader``): section owners import these
types to read and validate their section, and the loader imports the section
owners, so the values must not import the loader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pathways.core.labs import LabCatalogue
from pathways.machine import Machine


@dataclass(frozen=True, slots=True)
class RuleInfo:
    id: str
    section: str
    tag: str | None
    sources: tuple[str, ...]
    text: str

    @property
    def citation(self) -> str:
        if self.sources:
            return "; ".join(f"[{source}]" for source in self.sources)
        return f"RULES.md §{self.section}"


@dataclass(frozen=True, slots=True)
class DefaultSetting:
    """One configurable value: the definition's value, or the institution's override."""

    name: str
    value: Any
    tag: str
    rule_ids: tuple[str, ...]
    basis: str
    unit: str | None = None
    choices: tuple[Any, ...] | None = None
    shipped_value: Any = None
    overridden: bool = False

    @property
    def is_local_policy(self) -> bool:
        return self.tag == "DEFAULT" or self.overridden


@dataclass(frozen=True)
class Definition:
    name: str
    version: str
    source: str
    rules: Mapping[str, RuleInfo]
    machines: Mapping[str, Machine]
    defaults: Mapping[str, DefaultSetting]
    sections: Mapping[str, Any] = field(default_factory=dict)
    labs: LabCatalogue = field(default_factory=LabCatalogue)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def default(self, name: str) -> Any:
        return self.defaults[name].value

    def rule(self, rule_id: str) -> RuleInfo:
        return self.rules[rule_id]

    def section(self, name: str) -> Any:
        return self.sections.get(name)


@dataclass
class ValidationContext:
    """What a section validator may check names against."""

    rule_ids: frozenset[str]
    defaults: Mapping[str, Any]
    states: Mapping[str, frozenset[str]]
    problems: list[str] = field(default_factory=list)
    # Every section as read, for the checks that span sections (an indicator
    # names the rules and slots the schedule templates plan).
    raw: Mapping[str, Any] = field(default_factory=dict)

    def check_rules(self, where: str, rule_ids: Any) -> None:
        if not isinstance(rule_ids, list | tuple) or not rule_ids:
            self.problems.append(f"{where}: needs a non-empty list of rule ids")
            return
        for rule_id in rule_ids:
            if rule_id not in self.rule_ids:
                self.problems.append(f"{where}: unknown rule id {rule_id!r}")

    def check_default(self, where: str, name: Any) -> None:
        if name not in self.defaults:
            self.problems.append(f"{where}: unknown default {name!r}")


SectionValidator = Callable[[Any, ValidationContext], None]
