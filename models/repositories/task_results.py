"""What completing a task asks for: the fields named by ``care_task.result_fields``.

A planned task names the results it needs (``alt``, ``ast`` ... or a panel
such as ``lft``); this module knows each field's label, unit, type and range,
parses what a person typed, and reports every bad field at once so a form can
show each error beside its input. A field the module does not know is taken
as free text, so a new task kind never becomes impossible to complete.

The upper limits of normal stored with entered liver tests are the local
laboratory's reference values: the pathway default ``lab_reference_uln`` (a
[DEFAULT], RULES.md §0.1), passed in by the caller and shown as local policy
wherever a threshold is drawn against them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

# A panel name stands for its fields.
PANELS: dict[str, tuple[str, ...]] = {
    "lft": ("alt", "ast", "total_bilirubin", "alp"),
    "cbc": ("anc", "platelets", "wbc", "hemoglobin"),
    "electrolytes": ("potassium", "magnesium", "creatinine", "phosphorus", "calcium", "uric_acid"),
    "marrow": (
        "marrow_blast_pct",
        "trilineage_hematopoiesis",
        "circulating_blasts",
        "mrd_method",
        "mrd_value",
    ),
}

MARROW_FIELDS = frozenset(PANELS["marrow"])


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label: str
    kind: str  # number | yesno | choice | time | text
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    required: bool = True
    choices: tuple[str, ...] = ()
    # Local laboratory reference upper limit of normal ([DEFAULT]); stored with the observation.
    uln: float | None = None
    # True when the value is a lab result that becomes an observation row.
    lab: bool = False


def _lab(name: str, label: str, unit: str, maximum: float) -> FieldSpec:
    return FieldSpec(name, label, "number", unit, 0, maximum, lab=True)


FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        _lab("alt", "ALT", "U/L", 10000),
        _lab("ast", "AST", "U/L", 10000),
        _lab("total_bilirubin", "Total bilirubin", "mg/dL", 60),
        _lab("alp", "ALP", "U/L", 10000),
        _lab("ldh", "LDH", "U/L", 50000),
        _lab("anc", "ANC", "/uL", 200000),
        _lab("platelets", "Platelets", "/uL", 3000000),
        _lab("wbc", "WBC", "/uL", 1000000),
        _lab("hemoglobin", "Hemoglobin", "g/dL", 30),
        _lab("peripheral_blasts", "Peripheral blasts", "/uL", 1000000),
        _lab("potassium", "Potassium", "mmol/L", 15),
        _lab("magnesium", "Magnesium", "mmol/L", 10),
        _lab("creatinine", "Creatinine", "mg/dL", 40),
        _lab("uric_acid", "Uric acid", "mg/dL", 50),
        _lab("phosphorus", "Phosphorus", "mg/dL", 30),
        _lab("calcium", "Calcium", "mg/dL", 30),
        _lab("fibrinogen", "Fibrinogen", "mg/dL", 2000),
        _lab("qtcf_ms", "QTcF", "ms", 1000),
        _lab("igg", "IgG", "mg/dL", 10000),
        _lab("bcr_abl1_is", "BCR::ABL1 (IS)", "%", 1000),
        FieldSpec("marrow_blast_pct", "Marrow blasts", "number", "%", 0, 100),
        FieldSpec("trilineage_hematopoiesis", "Trilineage hematopoiesis", "yesno", required=False),
        FieldSpec("circulating_blasts", "Circulating blasts", "yesno", required=False),
        FieldSpec(
            "mrd_method", "MRD method", "choice", required=False, choices=("flow", "pcr", "ngs")
        ),
        FieldSpec("mrd_value", "MRD value", "number", "fraction", 0, 1, required=False),
        # INO-04: the observation ends at least 1 h after the infusion (QM-15 reads both).
        FieldSpec("infusion_end_at", "Infusion ended at", "time", "HH:MM, clinic time"),
        FieldSpec("observation_end_at", "Observation ended at", "time", "HH:MM, clinic time"),
    )
}
TIME_OF_DAY = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")

NOTE_FIELD = FieldSpec("note", "Note", "text", required=False)


def specs_for(
    result_fields: Sequence[str] | None, reference_uln: Mapping[str, float] | None = None
) -> list[FieldSpec]:
    """The fields a task asks for, panels expanded, in order, without repeats.

    ``reference_uln`` (the pathway default ``lab_reference_uln``) gives each lab
    field the local upper limit of normal stored with the entered result.
    """
    names: list[str] = []
    for name in result_fields or ():
        for part in PANELS.get(name, (name,)):
            if part not in names:
                names.append(part)
    uln = reference_uln or {}
    specs = []
    for name in names:
        spec = FIELDS.get(name) or FieldSpec(name, name.replace("_", " "), "text")
        if spec.lab and name in uln:
            spec = replace(spec, uln=float(uln[name]))
        specs.append(spec)
    return specs


def parse_result(
    specs: Sequence[FieldSpec], values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values and the problems, by field name; nothing is kept when a problem is reported."""
    parsed: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for spec in [*specs, NOTE_FIELD]:
        raw = values.get(spec.name)
        text = "" if raw is None else str(raw).strip()
        if text == "":
            if spec.required:
                problems[spec.name] = "required"
            continue
        if spec.kind == "number":
            try:
                number = float(text) if not isinstance(raw, int | float) else float(raw)
            except ValueError:
                problems[spec.name] = "must be a number"
                continue
            if number != number or number in (float("inf"), float("-inf")):
                problems[spec.name] = "must be a number"
            elif spec.minimum is not None and number < spec.minimum:
                problems[spec.name] = f"must be at least {spec.minimum:g}"
            elif spec.maximum is not None and number > spec.maximum:
                problems[spec.name] = f"must be at most {spec.maximum:g}"
            else:
                parsed[spec.name] = number
        elif spec.kind == "yesno":
            lowered = text.lower()
            if lowered in ("yes", "true", "1"):
                parsed[spec.name] = True
            elif lowered in ("no", "false", "0"):
                parsed[spec.name] = False
            else:
                problems[spec.name] = "must be yes or no"
        elif spec.kind == "time":
            match = TIME_OF_DAY.match(text)
            if match is None:
                problems[spec.name] = "must be a time of day, HH:MM (24 h)"
            else:
                parsed[spec.name] = f"{int(match.group(1)):02d}:{match.group(2)}"
        elif spec.kind == "choice":
            if text not in spec.choices:
                problems[spec.name] = f"one of {', '.join(spec.choices)}"
            else:
                parsed[spec.name] = text
        else:
            if len(text) > 2000:
                problems[spec.name] = "at most 2000 characters"
            else:
                parsed[spec.name] = text
    if problems:
        return {}, problems
    return parsed, {}
