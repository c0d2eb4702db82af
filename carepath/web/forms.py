"""The intake and edit forms: their fields, and how typed text becomes validated facts.

Intake goes through the same path as `carepath patient add` and the API
(``carepath.intake.parse_intake``: a carepath.case/1 document, the MRN and the
name, the pathway's patient limits), so there is one validation of clinical
facts. Each field's shape (a date, a number, one of the choices) is checked
first on its own, then everything else, and every problem is shown at once
beside its field: errors of the case parser name a case path
(``history.relapse_dates[0]``) and are shown beside the form field that path
comes from.

Another form uses the same parts: its ``FormField``s, ``read_fields`` (typed
values, problems by field, the text to show again), ``merge_problems`` for the
problems its own checks find (a ``CaseFormatError``'s or ``field_errors`` of a
pydantic ``ValidationError``), and the ``field_error`` macro of
``macros.html`` beside each input.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from carepath.intake import IntakeError, case_document_from_options, parse_intake
from carepath.web.contradictions import form_problems
from models.patient import FitnessAssessmentBase, PatientUpdate
from models.repositories.patient_edits import PatientEdit
from models.repositories.patients import PatientIntake
from pathways.core.field_errors import field_errors
from pathways.definition import Definition
from pathways.engine import PatientLimits, body_problems
from pathways.errors import ContradictoryFacts
from pathways.vocab import (
    Antigen,
    CnsStatus,
    FitnessCategory,
    Goal,
    HctEligible,
    Lineage,
    RRStatus,
    Sex,
)


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str
    kind: str  # text | date | number | int | choice | bool | confirm | list
    required: bool = False
    choices: tuple[str, ...] = ()
    hint: str = ""
    group: str = ""


def _choice(name: str, label: str, enum: Any, group: str, required: bool = False) -> FormField:
    return FormField(name, label, "choice", required, tuple(e.value for e in enum), group=group)


INTAKE_FIELDS: tuple[FormField, ...] = (
    FormField("mrn", "MRN", "text", True, hint="letters, digits, . _ -", group="Patient"),
    FormField("display_name", "Name", "text", True, group="Patient"),
    FormField("birth_date", "Birth date", "date", True, group="Patient"),
    FormField(
        "adolescent_confirmed",
        "Adolescent: enrol in this adult pathway",
        "confirm",
        hint="tick only for a patient under the adult age; a clinician is alerted to review",
        group="Patient",
    ),
    _choice("sex_at_birth", "Sex at birth", Sex, "Patient"),
    FormField("has_testes", "Testes present", "bool", group="Patient"),
    FormField("reproductive_potential", "Reproductive potential", "bool", group="Patient"),
    FormField("weight_kg", "Weight (kg)", "number", group="Patient"),
    FormField("height_cm", "Height (cm)", "number", group="Patient"),
    _choice("lineage", "Lineage", Lineage, "Disease", required=True),
    _choice("cd19", "CD19", Antigen, "Disease"),
    _choice("cd22", "CD22", Antigen, "Disease"),
    _choice("cd20", "CD20", Antigen, "Disease"),
    FormField("ph_positive", "Ph-positive (BCR::ABL1)", "bool", group="Disease"),
    FormField(
        "abl1_kinase_mutations",
        "ABL1 kinase mutations",
        "list",
        hint="comma-separated; 'none' = tested, none found; empty = not tested",
        group="Disease",
    ),
    FormField("kmt2a_rearranged", "KMT2A rearranged", "bool", group="Disease"),
    _choice("cns_status", "CNS status", CnsStatus, "Disease"),
    FormField("testicular_involvement", "Testicular involvement", "bool", group="Disease"),
    FormField("marrow_blast_pct", "Marrow blasts (%)", "number", group="Disease"),
    FormField("peripheral_blasts_per_ul", "Peripheral blasts (/uL)", "number", group="Disease"),
    _choice("status", "Relapsed or refractory", RRStatus, "History", required=True),
    FormField("initial_diagnosis_date", "Initial diagnosis", "date", group="History"),
    FormField("initial_treatment_start_date", "Initial treatment start", "date", group="History"),
    FormField("rr_diagnosis_date", "r/r diagnosis (DX)", "date", group="History"),
    FormField(
        "relapse_dates", "Relapse dates", "list", hint="YYYY-MM-DD, oldest first", group="History"
    ),
    FormField(
        "prior_therapies",
        "Prior therapies",
        "list",
        hint="comma-separated; 'none' = none; empty = not recorded yet",
        group="History",
    ),
    FormField("prior_allogeneic_hct_date", "Prior allogeneic HCT", "date", group="History"),
    _choice("category", "Fitness category", FitnessCategory, "Fitness and goal"),
    FormField("ecog", "ECOG", "int", group="Fitness and goal"),
    _choice("hct_eligible", "HCT-eligible", HctEligible, "Fitness and goal"),
    _choice("goal", "Goal of therapy", Goal, "Fitness and goal"),
)

EDIT_FIELDS: tuple[FormField, ...] = (
    FormField("display_name", "Name", "text", True, group="Patient"),
    _choice("sex_at_birth", "Sex at birth", Sex, "Patient"),
    FormField("has_testes", "Testes present", "bool", group="Patient"),
    FormField("reproductive_potential", "Reproductive potential", "bool", group="Patient"),
    FormField("weight_kg", "Weight (kg)", "number", group="Patient"),
    FormField("height_cm", "Height (cm)", "number", group="Patient"),
    _choice("goal", "Goal of therapy", Goal, "Patient"),
    FormField("declines_therapy", "Declines therapy", "bool", group="Patient"),
    _choice("cd19", "CD19", Antigen, "Disease"),
    _choice("cd22", "CD22", Antigen, "Disease"),
    _choice("cd20", "CD20", Antigen, "Disease"),
    FormField("ph_positive", "Ph-positive (BCR::ABL1)", "bool", group="Disease"),
    FormField("kmt2a_rearranged", "KMT2A rearranged", "bool", group="Disease"),
    _choice("cns_status", "CNS status", CnsStatus, "Disease"),
    FormField("testicular_involvement", "Testicular involvement", "bool", group="Disease"),
    _choice("category", "Fitness category", FitnessCategory, "Fitness"),
    FormField("ecog", "ECOG", "int", group="Fitness"),
    # FIT-02: the physiologic instruments are stored with the assessment (QM-04 reads them).
    FormField("hct_ci", "HCT-CI", "int", group="Fitness"),
    FormField("cci", "Charlson comorbidity index (CCI)", "int", group="Fitness"),
    FormField("sppb", "SPPB", "int", hint="0-12", group="Fitness"),
    _choice("hct_eligible", "HCT-eligible", HctEligible, "Fitness"),
)
INSTRUMENTS = ("hct_ci", "cci", "sppb")

DISEASE_EDIT = (
    "cd19",
    "cd22",
    "cd20",
    "ph_positive",
    "kmt2a_rearranged",
    "cns_status",
    "testicular_involvement",
)
PATIENT_EDIT = (
    "display_name",
    "sex_at_birth",
    "has_testes",
    "reproductive_potential",
    "weight_kg",
    "height_cm",
    "goal",
    "declines_therapy",
)


def groups(fields: tuple[FormField, ...]) -> list[tuple[str, list[FormField]]]:
    out: list[tuple[str, list[FormField]]] = []
    for f in fields:
        if not out or out[-1][0] != f.group:
            out.append((f.group, []))
        out[-1][1].append(f)
    return out


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def read_fields(
    fields: tuple[FormField, ...], form: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """(typed values, problems by field, the raw text to show again)."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    raw: dict[str, str] = {}
    for f in fields:
        value = form.get(f.name)
        text = value.strip() if isinstance(value, str) else ""
        raw[f.name] = text
        if text == "":
            if f.required:
                problems[f.name] = "required"
            else:
                values[f.name] = None
            continue
        try:
            values[f.name] = _typed(f, text)
        except ValueError:
            problems[f.name] = _shape_problem(f)
    for item in values.get("relapse_dates") or []:
        try:
            date.fromisoformat(item)
        except ValueError:
            problems.setdefault("relapse_dates", f"{item!r} is not a date (YYYY-MM-DD)")
    if re.search(r"\s", raw.get("mrn", "")):
        problems.setdefault("mrn", "must not contain spaces")
    return values, problems, raw


def _typed(f: FormField, text: str) -> Any:
    """The value of a field's non-empty text, by its kind; ValueError when it has another shape."""
    if f.kind == "date":
        return date.fromisoformat(text).isoformat()
    if f.kind == "number":
        number = float(text)
        if not math.isfinite(number) or number < 0:
            raise ValueError
        return number
    if f.kind == "int":
        return int(text)
    if f.kind == "choice":
        if text not in f.choices:
            raise ValueError
        return text
    if f.kind == "bool":
        if text not in ("yes", "no"):
            raise ValueError
        return text == "yes"
    if f.kind == "confirm":
        return text == "yes" or None
    if f.kind == "list":
        items = _split(text)
        return [] if [i.lower() for i in items] == ["none"] else items
    return text


def _shape_problem(f: FormField) -> str:
    """What a field's text must look like, said beside it when it does not."""
    return {
        "date": "must be a date, YYYY-MM-DD",
        "number": "must be a number, 0 or more",
        "int": "must be a whole number",
        "choice": f"one of {', '.join(f.choices)}",
        "bool": "yes, no, or leave unknown",
    }.get(f.kind, "not valid")


FORM_LEVEL = "_form"


def _form_field(case_path: str) -> str:
    """The form field a case-file path comes from (``history.relapse_dates[1]`` -> relapse_dates).

    A problem about several fields at once is shown at the top of the form.
    """
    last = re.sub(r"\[\d+\]$", "", case_path.split(".")[-1])
    names = {f.name for f in INTAKE_FIELDS}
    return last if last in names else FORM_LEVEL


def merge_problems(
    problems: dict[str, str], found: Mapping[str, str], field_of: Any = _form_field
) -> dict[str, str]:
    """``problems`` with each of ``found`` beside its form field (``field_of(path)``).

    A field keeps its first problem (the shape of what was typed comes first);
    the problems of no one field are joined at the top of the form.
    """
    for path, problem in found.items():
        name = field_of(path)
        if name == FORM_LEVEL and name in problems:
            problems[name] = f"{problems[name]}; {path}: {problem}"
        elif name == FORM_LEVEL:
            problems[name] = f"{path}: {problem}"
        else:
            problems.setdefault(name, problem)
    return problems


def intake_from_form(
    form: Mapping[str, Any],
    *,
    as_of: date,
    now: datetime,
    timezone: str,
    definition: Definition,
) -> tuple[PatientIntake | None, dict[str, str], dict[str, str]]:
    values, problems, raw = read_fields(INTAKE_FIELDS, form)
    options = {k: v for k, v in values.items() if k not in ("mrn", "display_name")}
    document = case_document_from_options(options, as_of=as_of.isoformat(), timezone=timezone)
    try:
        _facts, intake = parse_intake(
            document,
            mrn=str(values.get("mrn") or raw.get("mrn", "")),
            display_name=str(values.get("display_name") or raw.get("display_name", "")),
            definition=definition,
            now=now,
        )
    except ContradictoryFacts as exc:
        # The shape of what was typed keeps its place beside each field.
        return None, form_problems(exc, (f.name for f in INTAKE_FIELDS)) | problems, raw
    except IntakeError as exc:
        return None, merge_problems(problems, exc.problems), raw
    if problems:
        return None, problems, raw
    return intake, {}, raw


def edit_from_form(
    form: Mapping[str, Any], *, definition: Definition
) -> tuple[PatientEdit | None, dict[str, str], dict[str, str]]:
    values, problems, raw = read_fields(EDIT_FIELDS, form)
    body = body_problems(
        PatientLimits.of(definition),
        weight_kg=values.get("weight_kg"),
        height_cm=values.get("height_cm"),
    )
    merge_problems(problems, body, field_of=str)
    if values.get("ecog") is not None and not 0 <= values["ecog"] <= 5:
        problems["ecog"] = "must be 0 to 5"
    for name in INSTRUMENTS:
        if values.get(name) is not None and values[name] < 0:
            problems[name] = "must be 0 or more"
    if values.get("sppb") is not None and values["sppb"] > 12:
        problems["sppb"] = "must be 0 to 12"
    if values.get("category") is None and (
        values.get("ecog") is not None
        or values.get("hct_eligible")
        or any(values.get(name) is not None for name in INSTRUMENTS)
    ):
        problems.setdefault(
            "category", "required when ECOG, an instrument or HCT eligibility is given"
        )
    patient_values = {k: values.get(k) for k in PATIENT_EDIT}
    patient_values["declines_therapy"] = bool(patient_values["declines_therapy"])
    try:
        update = PatientUpdate.model_validate(
            {k: v for k, v in patient_values.items() if k not in problems}
        )
    except ValidationError as exc:
        merge_problems(problems, field_errors(exc), field_of=str)
    if problems:
        return None, problems, raw
    fitness = None
    if values.get("category") is not None:
        fitness = FitnessAssessmentBase(
            category=values["category"],
            ecog=values.get("ecog"),
            hct_ci=values.get("hct_ci"),
            cci=values.get("cci"),
            sppb=values.get("sppb"),
            hct_eligible=values.get("hct_eligible") or HctEligible.PENDING,
        )
    disease = {k: values[k] for k in DISEASE_EDIT}
    return PatientEdit(patient=update, disease=disease, fitness=fitness), {}, raw


def edit_defaults(record: Any) -> dict[str, str]:
    """The edit form filled with what is recorded."""

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(getattr(value, "value", value))

    p, d, f = record.patient, record.disease, record.fitness
    out = {name: text(getattr(p, name)) for name in PATIENT_EDIT}
    out["declines_therapy"] = "yes" if p.declines_therapy else "no"
    for name in DISEASE_EDIT:
        out[name] = text(getattr(d, name, None)) if d is not None else ""
    if f is not None:
        out["category"] = text(f.category)
        out["ecog"] = text(f.ecog)
        out["hct_eligible"] = text(f.hct_eligible)
        for name in INSTRUMENTS:
            out[name] = text(getattr(f, name))
    return out
