"""The ``not_implemented`` section: rule ids the engine deliberately does not act on, and why.

Some rules of RULES.md are reference figures (OUT-*), statements with no
action a tracker can take, or content outside the source's scope. Each is
listed with its reason so `carepath rules` can show every rule id as
implemented, tested, or not implemented *with why* — never silently missing.
"""

from __future__ import annotations

from typing import Any

from pathways.model import ValidationContext


def validate_not_implemented(section: Any, ctx: ValidationContext) -> None:
    if not isinstance(section, dict):
        ctx.problems.append("not_implemented: must map rule id -> reason")
        return
    for rule_id, reason in section.items():
        where = f"not_implemented.{rule_id}"
        if rule_id not in ctx.rule_ids:
            ctx.problems.append(f"{where}: unknown rule id {rule_id!r}")
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            ctx.problems.append(f"{where}: needs a reason of a sentence")
