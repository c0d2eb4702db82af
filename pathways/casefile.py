"""Parse a ``carepath.case/1`` file (CASE-FORMAT.md) into engine facts.

Validation happens here, at the edge: the first problem found raises
``CaseFormatError`` naming the field (``patient.birth_date``, ``labs[2].unit``)
and the problem. Unknown fields are refused rather than ignored, because a
misspelt ``cd_22`` silently read as "unknown" would change the advice. Lab
results go through the pathway's lab catalogue (``pathways.core.labs``): a test
is named by its code, an alias such as ``alt`` or its LOINC code; the value is
converted to the test's canonical unit, and a unit the catalogue does not know,
an implausible value or a result time before 1900 is refused. Facts that are
each well-formed but contradict each other (``pathways.consistency``) are
refused last, every one at once (``ContradictoryFacts``, one line per
contradiction naming its fields).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pathways.clock import UnknownTimezone, zone
from pathways.consistency import require_consistent
from pathways.core.field_errors import field_errors
from pathways.core.labs import LabCatalogue, LabValueRefused
from pathways.core.text import unsafe_strings
from pathways.definition import shipped_definition
from pathways.errors import CaseFormatError
from pathways.facts import (
    CaseFacts,
    CentreFacts,
    Course,
    DiseaseFacts,
    FitnessFacts,
    HistoryFacts,
    LabResult,
    Mrd,
    PatientFacts,
    ResponseAssessment,
    SignedResponse,
    StoppedMedication,
)
from pathways.patient_limits import PatientLimits, age_problems, body_problems
from pathways.vocab import (
    Antigen,
    CnsStatus,
    CoursePhase,
    FitnessCategory,
    Goal,
    HctEligible,
    Jurisdiction,
    Lineage,
    OptionId,
    ResponseCategory,
    RRStatus,
    Sex,
)

FORMAT: Final = "carepath.case/1"


class _Strict(BaseModel):
    # JSON's NaN and Infinity are no values: refused, never stored or compared.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Patient(_Strict):
    birth_date: date
    sex_at_birth: Sex | None = None
    has_testes: bool | None = None
    reproductive_potential: bool | None = None
    weight_kg: float | None = Field(default=None, gt=0)  # plausibility: patient_limits
    height_cm: float | None = Field(default=None, gt=0)
    # A patient under the pathway's adult age is enrolled only when this is true (patient_limits).
    adolescent_confirmed: bool | None = None


class _Disease(_Strict):
    lineage: Lineage
    cd19: Antigen | None = None
    cd22: Antigen | None = None
    cd20: Antigen | None = None
    ph_positive: bool | None = None
    abl1_kinase_mutations: list[str] | None = None
    kmt2a_rearranged: bool | None = None
    cns_status: CnsStatus | None = None
    testicular_involvement: bool | None = None
    marrow_blast_pct: float | None = Field(default=None, ge=0, le=100)
    peripheral_blasts_per_ul: float | None = Field(default=None, ge=0)


class _History(_Strict):
    status: RRStatus
    initial_diagnosis_date: date | None = None
    initial_treatment_start_date: date | None = None
    rr_diagnosis_date: date | None = None
    relapse_dates: list[date] = Field(default_factory=list)
    prior_therapies: list[str] | None = None
    prior_allogeneic_hct_date: date | None = None

    @field_validator("relapse_dates")
    @classmethod
    def _oldest_first(cls, value: list[date]) -> list[date]:
        if value != sorted(value):
            raise ValueError("must be in order, oldest first")
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a date")
        return value


class _Fitness(_Strict):
    category: FitnessCategory | None = None
    ecog: int | None = Field(default=None, ge=0, le=5)
    hct_eligible: HctEligible | None = None
    # FIT: the day the category was recorded (FIT-06's window counts from it).
    assessed_on: date | None = None


class _Centre(_Strict):
    immunotherapy_capable: bool | None = None
    cart_qualified: bool | None = None


class _Treatment(_Strict):
    regimen: OptionId
    cycle: int = Field(ge=1, le=60)
    cycle_start: date
    phase: CoursePhase
    prephase_start: date | None = None
    cycle_length_days: int | None = Field(default=None, ge=1, le=120)
    last_dose_date: date | None = None


class _Lab(_Strict):
    # A test of the lab catalogue (labs.yaml): its code, an alias such as alt, or its
    # LOINC code; units, plausibility and conversions are checked there (``_convert_labs``).
    test: str = Field(max_length=40)
    value: float
    unit: str = Field(max_length=20)
    uln: float | None = None
    lln: float | None = None
    at: datetime

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset (e.g. 2026-11-22T08:10:00-05:00)")
        return value


class _Mrd(_Strict):
    method: Literal["flow", "pcr", "ngs"] | None = None
    value: float | None = Field(default=None, ge=0)
    sensitivity: float | None = Field(default=None, gt=0)


class _Response(_Strict):
    date: date
    marrow_blast_pct: float | None = Field(default=None, ge=0, le=100)
    trilineage_hematopoiesis: bool | None = None
    circulating_blasts: bool | None = None
    peripheral_blasts_per_ul: float | None = Field(default=None, ge=0)
    extramedullary_disease: bool | None = None
    extramedullary_sites: list[str] | None = None
    anc_per_ul: float | None = Field(default=None, ge=0)
    platelets_per_ul: float | None = Field(default=None, ge=0)
    in_remission_before: bool | None = None
    end_of_induction: bool | None = None
    induction_rounds: int | None = Field(default=None, ge=0)
    mrd: _Mrd | None = None
    reference_marrow_blast_pct: float | None = Field(default=None, ge=0, le=100)
    reference_peripheral_blasts_per_ul: float | None = Field(default=None, ge=0)
    reference_extramedullary_sites: list[str] | None = None
    csf_clear_since_last_positive: bool | None = None
    testicular_exam_documented: bool | None = None
    testicular_disease_resolved: bool | None = None


class _Signed(_Strict):
    """A category a clinician signed (RESP-04): partial response is only ever entered so."""

    category: ResponseCategory
    signed_on: date


class _Stopped(_Strict):
    name: str = Field(min_length=1, max_length=120)
    stopped_on: date


class _Case(_Strict):
    format: Literal["carepath.case/1"] = FORMAT
    as_of: date
    timezone: str
    jurisdiction: Jurisdiction | None = None
    patient: _Patient
    disease: _Disease
    history: _History
    fitness: _Fitness = Field(default_factory=_Fitness)
    goal: Goal | None = None
    declines_therapy: bool = False
    centre: _Centre = Field(default_factory=_Centre)
    treatment: _Treatment | None = None
    labs: list[_Lab] = Field(default_factory=list)
    response_assessment: _Response | None = None
    signed_response: _Signed | None = None
    medications: list[str] = Field(default_factory=list)
    medications_stopped: list[_Stopped] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            zone(value)
        except UnknownTimezone as exc:
            raise ValueError(str(exc)) from exc
        return value


UNKNOWN_FIELD = "unknown field (see CASE-FORMAT.md for the fields of carepath.case/1)"


def _convert_labs(labs: list[_Lab], catalogue: LabCatalogue) -> tuple[LabResult, ...]:
    """Each result through the lab catalogue (canonical unit, plausible, a real time);
    every bad one is reported at once."""
    results: list[LabResult] = []
    problems: dict[str, str] = {}
    for index, lab in enumerate(labs):
        late = catalogue.result_time_problem(lab.at, now=None)
        if late:
            problems[f"labs[{index}].at"] = late
        try:
            m = catalogue.measure(lab.test, lab.value, lab.unit, uln=lab.uln, lln=lab.lln)
        except LabValueRefused as exc:
            problems |= {f"labs[{index}].{part}": text for part, text in exc.problems.items()}
            continue
        results.append(
            LabResult(
                test=m.test,
                value=m.value,
                unit=m.unit,
                at=lab.at,
                uln=m.uln,
                lln=m.lln,
                entered_value=m.entered_value,
                entered_unit=m.entered_unit,
            )
        )
    if problems:
        raise CaseFormatError.of(problems)
    return tuple(results)


def _refuse_all(problems: dict[str, str], found: dict[str, str]) -> None:
    for field, problem in found.items():
        problems.setdefault(field, problem)


def _relapse_problems(history: _History) -> dict[str, str]:
    if history.status is RRStatus.RELAPSED and not history.relapse_dates:
        return {"history.relapse_dates": "give the date of each relapse (the status is relapsed)"}
    return {}


def _history_problems(data: dict[str, Any]) -> dict[str, str]:
    """The history's own checks when another part of the document is invalid (every field
    error at once: a relapsed status without its dates is reported beside a bad birth date)."""
    try:
        return _relapse_problems(_History.model_validate(data.get("history")))
    except ValidationError:
        return {}


def _check_dates(case: _Case) -> dict[str, str]:
    """Dates that contradict each other or the day the facts are as of, every one by field."""
    p, h = case.patient, case.history
    problems: dict[str, str] = {}

    def refuse(field: str, problem: str) -> None:
        problems.setdefault(field, problem)

    future = f"is in the future (after {case.as_of.isoformat()})"
    if p.birth_date > case.as_of:
        refuse("patient.birth_date", future)
    for name in ("initial_diagnosis_date", "initial_treatment_start_date"):
        value = getattr(h, name)
        if value is not None and value < p.birth_date:
            refuse(f"history.{name}", "is before the birth date")
        if value is not None and value > case.as_of:
            refuse(f"history.{name}", future)
    if (
        h.initial_diagnosis_date is not None
        and h.initial_treatment_start_date is not None
        and h.initial_treatment_start_date < h.initial_diagnosis_date
    ):
        refuse("history.initial_treatment_start_date", "is before the initial diagnosis")
    for i, relapse in enumerate(h.relapse_dates):
        if relapse > case.as_of:
            refuse(f"history.relapse_dates[{i}]", future)
        if h.initial_diagnosis_date is not None and relapse < h.initial_diagnosis_date:
            refuse(f"history.relapse_dates[{i}]", "is before the initial diagnosis")
    _refuse_all(problems, _relapse_problems(h))
    if case.treatment is not None and case.treatment.cycle_start < p.birth_date:
        refuse("treatment.cycle_start", "is before the birth date")
    return problems


def _limit_problems(
    data: dict[str, Any], case: _Case | None, limits: PatientLimits
) -> dict[str, str]:
    """The pathway's patient limits, also when another part of the document is invalid."""
    patient, as_of = (case.patient, case.as_of) if case is not None else (None, None)
    if case is None:
        try:
            patient = _Patient.model_validate(data.get("patient"))
            as_of = date.fromisoformat(str(data.get("as_of")))
        except (ValidationError, ValueError):
            return {}
    if patient is None or as_of is None:
        return {}
    problems = body_problems(limits, weight_kg=patient.weight_kg, height_cm=patient.height_cm)
    problems |= age_problems(
        limits,
        birth_date=patient.birth_date,
        as_of=as_of,
        adolescent_confirmed=bool(patient.adolescent_confirmed),
    )
    return {f"patient.{name}": problem for name, problem in problems.items()}


def parse_case(
    data: Any, *, labs: LabCatalogue | None = None, limits: PatientLimits | None = None
) -> CaseFacts:
    """Validate one decoded case document and return the engine's facts.

    Every problem is reported at once (``CaseFormatError.problems``). With
    ``limits`` (the pathway's, ``PatientLimits.of(definition)``) the patient's
    body measures and age are checked too. ``labs`` is the lab catalogue the
    results are read with (default: that of the shipped pathway definition).
    Facts that are each well-formed but contradict each other are refused
    last (``ContradictoryFacts``).
    """
    if not isinstance(data, dict):
        raise CaseFormatError("(case)", "must be a JSON object")
    if "format" in data and data["format"] != FORMAT:
        raise CaseFormatError("format", f"must be {FORMAT!r}, got {data['format']!r}")
    problems = unsafe_strings(data)
    case: _Case | None = None
    try:
        case = _Case.model_validate(data)
    except ValidationError as exc:
        problems |= field_errors(exc, unknown_field=UNKNOWN_FIELD, skip=frozenset(), whole="(case)")
    results: tuple[LabResult, ...] = ()
    if case is not None:
        problems = problems | {k: v for k, v in _check_dates(case).items() if k not in problems}
        catalogue = labs if labs is not None else shipped_definition().labs
        try:
            results = _convert_labs(case.labs, catalogue)
        except CaseFormatError as exc:
            for field, problem in exc.problems.items():
                problems.setdefault(field, problem)
    if case is None:
        _refuse_all(problems, _history_problems(data))
    if limits is not None:
        _refuse_all(problems, _limit_problems(data, case, limits))
    if problems or case is None:
        raise CaseFormatError.of(problems)
    # Facts that contradict each other are refused, every one at once (ContradictoryFacts).
    return require_consistent(_facts(case, results))


def decode_case(text: str) -> Any:
    """The JSON document of a case file (``CaseFormatError`` when it is not JSON)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseFormatError("(case)", f"not valid JSON: {exc.msg} at line {exc.lineno}") from None


def parse_case_text(
    text: str, *, labs: LabCatalogue | None = None, limits: PatientLimits | None = None
) -> CaseFacts:
    return parse_case(decode_case(text), labs=labs, limits=limits)


def _facts(case: _Case, labs: tuple[LabResult, ...]) -> CaseFacts:
    p, d, h, f = case.patient, case.disease, case.history, case.fitness
    treatment = None if case.treatment is None else _course(case.treatment)
    response = None if case.response_assessment is None else _response(case.response_assessment)
    return CaseFacts(
        as_of=case.as_of,
        timezone=case.timezone,
        jurisdiction=case.jurisdiction,
        patient=PatientFacts(
            birth_date=p.birth_date,
            sex_at_birth=p.sex_at_birth,
            has_testes=p.has_testes,
            reproductive_potential=p.reproductive_potential,
            weight_kg=p.weight_kg,
            height_cm=p.height_cm,
        ),
        disease=DiseaseFacts(
            lineage=d.lineage,
            cd19=d.cd19,
            cd22=d.cd22,
            cd20=d.cd20,
            ph_positive=d.ph_positive,
            abl1_kinase_mutations=(
                None if d.abl1_kinase_mutations is None else tuple(d.abl1_kinase_mutations)
            ),
            kmt2a_rearranged=d.kmt2a_rearranged,
            cns_status=d.cns_status,
            testicular_involvement=d.testicular_involvement,
            marrow_blast_pct=d.marrow_blast_pct,
            peripheral_blasts_per_ul=d.peripheral_blasts_per_ul,
        ),
        history=HistoryFacts(
            status=h.status,
            initial_diagnosis_date=h.initial_diagnosis_date,
            initial_treatment_start_date=h.initial_treatment_start_date,
            relapse_dates=tuple(h.relapse_dates),
            prior_therapies=None if h.prior_therapies is None else tuple(h.prior_therapies),
            prior_allogeneic_hct_date=h.prior_allogeneic_hct_date,
            rr_diagnosis_date=h.rr_diagnosis_date,
        ),
        fitness=FitnessFacts(
            category=f.category, ecog=f.ecog, hct_eligible=f.hct_eligible, assessed_on=f.assessed_on
        ),
        goal=case.goal,
        declines_therapy=case.declines_therapy,
        centre=CentreFacts(
            immunotherapy_capable=case.centre.immunotherapy_capable,
            cart_qualified=case.centre.cart_qualified,
        ),
        treatment=treatment,
        labs=labs,
        response_assessment=response,
        signed_response=(
            None
            if case.signed_response is None
            else SignedResponse(case.signed_response.category, case.signed_response.signed_on)
        ),
        medications=tuple(m.strip().lower() for m in case.medications),
        stopped_medications=tuple(
            StoppedMedication(m.name.strip().lower(), m.stopped_on)
            for m in case.medications_stopped
        ),
    )


def _course(t: _Treatment) -> Course:
    return Course(
        regimen=t.regimen.value,
        cycle=t.cycle,
        cycle_start=t.cycle_start,
        phase=t.phase,
        ref=t.regimen.value,
        prephase_start=t.prephase_start,
        cycle_length_days=t.cycle_length_days,
        last_dose_date=t.last_dose_date,
    )


def _response(r: _Response) -> ResponseAssessment:
    sites = frozenset(r.extramedullary_sites or ())
    if r.extramedullary_disease and not sites:
        sites = frozenset({"unspecified"})
    return ResponseAssessment(
        date=r.date,
        marrow_blast_pct=r.marrow_blast_pct,
        trilineage_hematopoiesis=r.trilineage_hematopoiesis,
        circulating_blasts=r.circulating_blasts,
        peripheral_blasts_per_ul=r.peripheral_blasts_per_ul,
        extramedullary_sites=sites,
        extramedullary_disease=r.extramedullary_disease,
        anc_per_ul=r.anc_per_ul,
        platelets_per_ul=r.platelets_per_ul,
        in_remission_before=r.in_remission_before,
        end_of_induction=r.end_of_induction,
        induction_rounds=r.induction_rounds,
        mrd=None if r.mrd is None else Mrd(r.mrd.method, r.mrd.value, r.mrd.sensitivity),
        ref_marrow_blast_pct=r.reference_marrow_blast_pct,
        ref_peripheral_blasts_per_ul=r.reference_peripheral_blasts_per_ul,
        ref_extramedullary_sites=(
            None
            if r.reference_extramedullary_sites is None
            else frozenset(r.reference_extramedullary_sites)
        ),
        csf_clear_since_last_positive=r.csf_clear_since_last_positive,
        testicular_exam_documented=r.testicular_exam_documented,
        testicular_disease_resolved=r.testicular_disease_resolved,
    )
