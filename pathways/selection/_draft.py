"""The advice under construction: options, exclusions and overlays merged by id, in display order."""

from __future__ import annotations

from dataclasses import dataclass, field

from pathways.decisions import Exclusion, InductionAdvice, Option, Overlay
from pathways.vocab import (
    OptionId,
    OverlayId,
)

# Display order only (see the module docstring): the vocabulary order.
OPTION_ORDER = {option.value: index for index, option in enumerate(OptionId)}


OVERLAY_ORDER = {overlay.value: index for index, overlay in enumerate(OverlayId)}


@dataclass
class Draft:
    """The advice being built; options and exclusions merge by id."""

    options: dict[str, Option] = field(default_factory=dict)
    excluded: dict[str, Exclusion] = field(default_factory=dict)
    overlays: dict[str, Overlay] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)

    def offer(
        self,
        option_id: str,
        rule_ids: tuple[str, ...],
        note: str | None = None,
        warnings: tuple[str, ...] = (),
    ) -> None:
        old = self.options.get(option_id)
        if old is not None:
            note = "; ".join(part for part in (old.note, note) if part) or None
            rule_ids = union(old.rule_ids, rule_ids)
            warnings = union(old.warnings, warnings)
        self.options[option_id] = Option(option_id, rule_ids, note, warnings)

    def exclude(self, option_id: str, reason: str, rule_ids: tuple[str, ...]) -> None:
        old = self.excluded.get(option_id)
        if old is not None:
            if reason not in old.reason.split("; "):
                reason = f"{old.reason}; {reason}"
            else:
                reason = old.reason
            rule_ids = union(old.rule_ids, rule_ids)
        self.excluded[option_id] = Exclusion(option_id, reason, rule_ids)

    def overlay(self, overlay_id: str, rule_ids: tuple[str, ...], message: str) -> None:
        self.overlays[overlay_id] = Overlay(overlay_id, rule_ids, message)

    def need(self, *fields: str) -> None:
        for name in fields:
            if name not in self.missing:
                self.missing.append(name)

    def cite(self, *rule_ids: str) -> None:
        for rule_id in rule_ids:
            if rule_id not in self.rule_ids:
                self.rule_ids.append(rule_id)

    def alternative(self, branch: str) -> None:
        if branch not in self.alternatives:
            self.alternatives.append(branch)

    def advice(self, branch: str) -> InductionAdvice:
        # An exclusion always wins over an offer of the same id.
        options = [o for i, o in self.options.items() if i not in self.excluded]
        return InductionAdvice(
            branch=branch,
            options=tuple(sorted(options, key=lambda o: OPTION_ORDER[o.id])),
            excluded=tuple(sorted(self.excluded.values(), key=lambda e: OPTION_ORDER[e.id])),
            overlays=tuple(sorted(self.overlays.values(), key=lambda o: OVERLAY_ORDER[o.id])),
            rule_ids=tuple(self.rule_ids),
            missing=tuple(self.missing),
            alternative_branches=tuple(b for b in self.alternatives if b != branch),
        )


def union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))
