"""What completing a task asks for: the fields named by ``care_task.result_fields``.

A planned task names the results it needs (``marrow_blast_pct``, a lab test
such as ``total_bilirubin``, or a panel of the lab catalogue such as ``lft``);
this module knows each field's label, type and range, parses what a person
typed, and reports every bad field at once so a form can show each error
beside its input. A field the module does not know is taken as free text, so a
new task kind never becomes impossible to complete.

Lab tests come from the pathway's lab catalogue (``pathways.core.labs``, the
definition's ``labs.yaml``): the person picks the unit from the test's accepted
units (``<name>__unit``, the catalogue's entry unit preselected; a value sent
without one is read in the canonical unit) and may give the laboratory's own
upper limit of normal (``<name>__uln``). Without one the rules use the local
reference range and say so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pathways.core.labs import LabCatalogue, LabTest, LabValueRefused, Measurement, read_number

UNIT_SUFFIX = "__unit"
ULN_SUFFIX = "__uln"

# Results of a form that are not lab tests but come together (response marrow).
FORM_PANELS: dict[str, tuple[str, ...]] = {
    "marrow": (
        "marrow_blast_pct",
        "trilineage_hematopoiesis",
        "circulating_blasts",
        "mrd_method",
        "mrd_value",
    ),
}

MARROW_FIELDS = frozenset(FORM_PANELS["marrow"])


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label: str
    kind: str  # number | yesno | choice | time | text | lab
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    required: bool = True
    choices: tuple[str, ...] = ()
    hint: str = ""
    # The catalogue test of a lab field (its units, plausible range, local reference range).
    test: LabTest | None = None

    @property
    def lab(self) -> bool:
        return self.test is not None


@dataclass
class ParsedResult:
    """Typed values, the lab measurements among them, and the problems by field name."""

    values: dict[str, Any] = field(default_factory=dict)
    labs: list[Measurement] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)


FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
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
        # The clinician's decision on an alert's review task; completing it acknowledges the alert.
        FieldSpec(
            "decision",
            "Decision",
            "text",
            hint="what you decided and why; completing this task acknowledges the alert",
        ),
    )
}
TIME_OF_DAY = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")

NOTE_FIELD = FieldSpec("note", "Note", "text", required=False)


def specs_for(result_fields: Sequence[str] | None, labs: LabCatalogue) -> list[FieldSpec]:
    """The fields a task asks for, panels expanded, in order, without repeats."""
    names = labs.expand(
        part for name in result_fields or () for part in FORM_PANELS.get(name, (name,))
    )
    specs = []
    for name in names:
        test = labs.tests.get(name)
        if test is not None:
            specs.append(FieldSpec(name, test.label, "lab", test.canonical.label, test=test))
        else:
            specs.append(FIELDS.get(name) or FieldSpec(name, name.replace("_", " "), "text"))
    return specs


def lab_form_specs(labs: LabCatalogue) -> list[FieldSpec]:
    """Every test of the catalogue, none required: the lab form enters any of them at once."""
    return [
        FieldSpec(t.code, t.label, "lab", t.canonical.label, required=False, test=t)
        for t in labs.tests.values()
    ]


def parse_result(
    specs: Sequence[FieldSpec], values: Mapping[str, Any], labs: LabCatalogue
) -> ParsedResult:
    """Typed values and the problems, by field name; nothing is kept when a problem is reported."""
    out = ParsedResult()
    for spec in [*specs, NOTE_FIELD]:
        raw = values.get(spec.name)
        text = "" if raw is None else str(raw).strip()
        if spec.test is not None:
            _lab(out, spec, raw, values, labs)
        elif text == "":
            if spec.required:
                out.problems[spec.name] = "required"
        else:
            _typed(out, spec, raw, text)
    if out.problems:
        return ParsedResult(problems=out.problems)
    return out


def _lab(
    out: ParsedResult,
    spec: FieldSpec,
    raw: Any,
    values: Mapping[str, Any],
    labs: LabCatalogue,
) -> None:
    """A lab value with its unit (and the laboratory's ULN, if given): one measurement."""
    assert spec.test is not None  # noqa: S101 (the caller checked)
    unit, uln = values.get(spec.name + UNIT_SUFFIX), values.get(spec.name + ULN_SUFFIX)
    if isinstance(raw, Mapping):  # {"value": 45, "unit": "10*3/uL", "uln": ...} from the API
        raw, unit, uln = raw.get("value"), raw.get("unit", unit), raw.get("uln", uln)
    if raw is None or str(raw).strip() == "":
        if spec.required:
            out.problems[spec.name] = "required"
        return
    try:
        measured = labs.measure(
            spec.name, raw, unit if unit not in (None, "") else spec.test.canonical.code, uln=uln
        )
    except LabValueRefused as exc:
        for part, problem in exc.problems.items():
            key = spec.name if part in ("value", "test") else spec.name + f"__{part}"
            out.problems[key] = problem
        return
    out.values[spec.name] = measured.value
    out.labs.append(measured)


def _typed(out: ParsedResult, spec: FieldSpec, raw: Any, text: str) -> None:
    if spec.kind == "number":
        try:
            number = read_number(raw)
        except ValueError as exc:
            out.problems[spec.name] = str(exc)
            return
        if spec.minimum is not None and number < spec.minimum:
            out.problems[spec.name] = f"must be at least {spec.minimum:g}"
        elif spec.maximum is not None and number > spec.maximum:
            out.problems[spec.name] = f"must be at most {spec.maximum:g}"
        else:
            out.values[spec.name] = number
    elif spec.kind == "yesno":
        lowered = text.lower()
        if lowered in ("yes", "true", "1"):
            out.values[spec.name] = True
        elif lowered in ("no", "false", "0"):
            out.values[spec.name] = False
        else:
            out.problems[spec.name] = "must be yes or no"
    elif spec.kind == "time":
        match = TIME_OF_DAY.match(text)
        if match is None:
            out.problems[spec.name] = "must be a time of day, HH:MM (24 h)"
        else:
            out.values[spec.name] = f"{int(match.group(1)):02d}:{match.group(2)}"
    elif spec.kind == "choice":
        if text not in spec.choices:
            out.problems[spec.name] = f"one of {', '.join(spec.choices)}"
        else:
            out.values[spec.name] = text
    elif len(text) > 2000:
        out.problems[spec.name] = "at most 2000 characters"
    else:
        out.values[spec.name] = text
