"""The ``selection`` section of the definition: catalogues shown beside the options."""

from __future__ import annotations

from typing import Any

from pathways.model import ValidationContext


def regimens(catalogue: dict[str, Any], intensity: str) -> str:
    names = (catalogue.get("chemotherapy_regimens") or {}).get(intensity) or []
    return f"{intensity}-intensity regimens (CHEMO-02): " + ", ".join(names)


def names(catalogue: dict[str, Any], key: str) -> list[str]:
    return list((catalogue.get(key) or {}).get("names") or [])


def validate_selection_section(value: Any, ctx: ValidationContext) -> None:
    """The ``selection`` section: catalogues shown beside the options, each citing its rules."""
    if not isinstance(value, dict):
        ctx.problems.append("selection: must be a mapping")
        return
    expected = {
        "chemotherapy_regimens": ("high", "moderate", "low"),
        "tki_choices": ("names",),
        "t_cell_alternatives": ("names",),
    }
    for key in value:
        if key not in expected:
            ctx.problems.append(f"selection.{key}: unknown entry (known: {', '.join(expected)})")
    for key, lists in expected.items():
        entry = value.get(key)
        where = f"selection.{key}"
        if not isinstance(entry, dict):
            ctx.problems.append(f"{where}: required mapping")
            continue
        ctx.check_rules(where, entry.get("rules"))
        for name in lists:
            items = entry.get(name)
            if (
                not isinstance(items, list)
                or not items
                or not all(isinstance(i, str) for i in items)
            ):
                ctx.problems.append(f"{where}.{name}: needs a non-empty list of names")
