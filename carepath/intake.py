"""Patient intake: a carepath.case/1 document and who the patient is, checked as a whole.

Every door (the web intake form, the API's case document, ``carepath patient
add`` with options or ``--case``) calls ``parse_intake``: one validation of the
clinical facts (``pathways.casefile.parse_case`` with the pathway's patient
limits), of the MRN and the name, every problem reported at once with its
field (``mrn``, ``patient.weight_kg``, ``history.relapse_dates[0]``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from models.observation import ObservationCreate
from models.patient import (
    DiseaseFactsBase,
    FitnessAssessmentBase,
    HistoryBase,
    PatientCreate,
    PatientIdentity,
)
from models.repositories.patients import PatientIntake
from pathways.core.field_errors import field_errors
from pathways.core.labs import SKEW_SETTING
from pathways.definition import Definition
from pathways.engine import (
    AGE_RULES,
    PatientLimits,
    adolescent_alert_message,
    age_years,
    parse_case,
)
from pathways.errors import CaseFormatError
from pathways.facts import CaseFacts
from pathways.vocab import HctEligible


class IntakeError(CaseFormatError):
    """The intake refused: every bad field (identity, facts, limits) with its problem."""


def identity_problems(mrn: str, display_name: str) -> dict[str, str]:
    try:
        PatientIdentity(mrn=mrn, display_name=display_name)
    except ValidationError as exc:
        return field_errors(exc, whole="patient")
    return {}


def parse_intake(
    document: Any,
    *,
    mrn: str,
    display_name: str,
    definition: Definition,
    now: datetime,
    case_prefix: str = "",
) -> tuple[CaseFacts, PatientIntake]:
    """The facts and the intake of one new patient, or ``IntakeError`` listing every problem.

    ``case_prefix`` is put before the case document's field paths (the API's
    body holds the document under ``case``). Facts that contradict each other
    raise ``ContradictoryFacts`` once every field is well-formed.
    """
    limits = PatientLimits.of(definition)
    problems = identity_problems(mrn, display_name)
    facts: CaseFacts | None = None
    try:
        facts = parse_case(document, labs=definition.labs, limits=limits)
    except CaseFormatError as exc:
        for field, problem in exc.problems.items():
            problems.setdefault(f"{case_prefix}{field}", problem)
    if facts is not None:
        for field, problem in late_labs(facts, definition, now=now).items():
            problems.setdefault(f"{case_prefix}{field}", problem)
    if problems or facts is None:
        raise IntakeError.of(problems)
    intake = intake_from_facts(facts, mrn=mrn, display_name=display_name, limits=limits)
    return facts, intake


def intake_from_facts(
    facts: CaseFacts, *, mrn: str, display_name: str, limits: PatientLimits
) -> PatientIntake:
    """Validated facts (``parse_case`` with ``limits``) as the rows of a new patient."""
    p, d, h, f = facts.patient, facts.disease, facts.history, facts.fitness
    try:
        patient = PatientCreate(
            mrn=mrn,
            display_name=display_name,
            birth_date=p.birth_date,
            sex_at_birth=p.sex_at_birth,
            has_testes=p.has_testes,
            reproductive_potential=p.reproductive_potential,
            weight_kg=p.weight_kg,
            height_cm=p.height_cm,
            goal=facts.goal,
            declines_therapy=facts.declines_therapy,
        )
    except ValidationError as exc:
        raise IntakeError.of(field_errors(exc, whole="patient")) from None
    alert, inputs = None, {}
    if limits.is_adolescent(p.birth_date, facts.as_of):
        age = age_years(p.birth_date, facts.as_of)
        alert = adolescent_alert_message(limits, age=age)
        inputs = {
            "age_years": age,
            "minimum_age_years": limits.minimum_age_years,
            "adult_from_age_years": limits.adult_from_age_years,
            "rules_consulted": list(AGE_RULES),
            "confirmed": True,
        }
    disease = DiseaseFactsBase(
        lineage=d.lineage,
        cd19=d.cd19,
        cd22=d.cd22,
        cd20=d.cd20,
        ph_positive=d.ph_positive,
        abl1_kinase_mutations=(
            None if d.abl1_kinase_mutations is None else list(d.abl1_kinase_mutations)
        ),
        kmt2a_rearranged=d.kmt2a_rearranged,
        cns_status=d.cns_status,
        testicular_involvement=d.testicular_involvement,
        marrow_blast_pct=d.marrow_blast_pct,
        peripheral_blasts_per_ul=d.peripheral_blasts_per_ul,
    )
    history = HistoryBase(
        status=h.status,
        initial_diagnosis_date=h.initial_diagnosis_date,
        initial_treatment_start_date=h.initial_treatment_start_date,
        rr_diagnosis_date=h.rr_diagnosis_date,
        prior_allogeneic_hct_date=h.prior_allogeneic_hct_date,
    )
    fitness = None
    if f.category is not None:
        fitness = FitnessAssessmentBase(
            category=f.category,
            ecog=f.ecog,
            hct_eligible=f.hct_eligible or HctEligible.PENDING,
        )
    return PatientIntake(
        patient=patient,
        disease=disease,
        history=history,
        relapse_dates=list(h.relapse_dates),
        prior_therapies=None if h.prior_therapies is None else list(h.prior_therapies),
        fitness=fitness,
        medications=list(facts.medications),
        adolescent_alert=alert,
        adolescent_inputs=inputs,
    )


def late_labs(facts: CaseFacts, definition: Definition, *, now: datetime) -> dict[str, str]:
    """Results of a case file timed in the future, by field (``labs[i].at``): refused at intake.

    The engine ignores a result after ``as_of``; stored, it would be a result from the future.
    """
    skew = timedelta(minutes=float(definition.default(SKEW_SETTING)))
    return {
        f"labs[{i}].at": problem
        for i, lab in enumerate(facts.labs)
        if (problem := definition.labs.result_time_problem(lab.at, now=now, skew=skew))
    }


def observations_from_facts(facts: CaseFacts, *, source: str) -> list[ObservationCreate]:
    return [
        ObservationCreate(
            code=lab.test,
            value=lab.value,
            unit=lab.unit,
            uln=lab.uln,
            lln=lab.lln,
            entered_value=lab.entered_value,
            entered_unit=lab.entered_unit,
            observed_at=lab.at,
            source=source,
        )
        for lab in facts.labs
    ]


def case_document_from_options(
    options: dict[str, Any], *, as_of: str, timezone: str
) -> dict[str, Any]:
    """Arrange command-line options into a carepath.case/1 document (None = not given)."""

    def pick(*names: str) -> dict[str, Any]:
        return {n: options[n] for n in names if options.get(n) is not None}

    document: dict[str, Any] = {
        "format": "carepath.case/1",
        "as_of": as_of,
        "timezone": timezone,
        "patient": pick(
            "birth_date",
            "sex_at_birth",
            "has_testes",
            "reproductive_potential",
            "weight_kg",
            "height_cm",
            "adolescent_confirmed",
        ),
        "disease": pick(
            "lineage",
            "cd19",
            "cd22",
            "cd20",
            "ph_positive",
            "kmt2a_rearranged",
            "cns_status",
            "testicular_involvement",
            "marrow_blast_pct",
            "peripheral_blasts_per_ul",
        ),
        "history": pick(
            "status",
            "initial_diagnosis_date",
            "initial_treatment_start_date",
            "rr_diagnosis_date",
            "prior_allogeneic_hct_date",
        ),
        "fitness": pick("category", "ecog", "hct_eligible"),
    }
    if options.get("abl1_kinase_mutations") is not None:
        document["disease"]["abl1_kinase_mutations"] = options["abl1_kinase_mutations"]
    if options.get("relapse_dates"):
        document["history"]["relapse_dates"] = options["relapse_dates"]
    if options.get("prior_therapies") is not None:
        document["history"]["prior_therapies"] = options["prior_therapies"]
    if options.get("goal") is not None:
        document["goal"] = options["goal"]
    return document


__all__ = [
    "CaseFormatError",
    "IntakeError",
    "case_document_from_options",
    "identity_problems",
    "intake_from_facts",
    "late_labs",
    "observations_from_facts",
    "parse_intake",
]
