"""What the engine knows about one patient at one moment: plain frozen values.

These are the only inputs of the clinical engine. The case-file parser
(``pathways.casefile``) and the database snapshot loader (``models.snapshots``)
both build them; nothing here knows where the facts came from.

``None`` always means *unknown* and is never read as negative: an unknown CD22
status excludes inotuzumab with that reason (IND-06b), an unknown prior-therapy
list blocks the MULTI suggestions (MULTI-06).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from pathways.vocab import (
    Antigen,
    CnsStatus,
    CoursePhase,
    FitnessCategory,
    Goal,
    HctEligible,
    Jurisdiction,
    Lineage,
    Phase,
    ResponseCategory,
    RRStatus,
    Sex,
)


@dataclass(frozen=True, slots=True)
class PatientFacts:
    birth_date: date
    sex_at_birth: Sex | None = None
    has_testes: bool | None = None
    reproductive_potential: bool | None = None
    weight_kg: float | None = None
    height_cm: float | None = None

    def age_on(self, day: date) -> int:
        """Completed years on ``day`` (a birthday counts on the day itself)."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


@dataclass(frozen=True, slots=True)
class DiseaseFacts:
    lineage: Lineage
    cd19: Antigen | None = None
    cd22: Antigen | None = None
    cd20: Antigen | None = None
    ph_positive: bool | None = None
    # None = not tested; () = tested, no mutation found (WU-07, AMB-13).
    abl1_kinase_mutations: tuple[str, ...] | None = None
    kmt2a_rearranged: bool | None = None
    cns_status: CnsStatus | None = None
    testicular_involvement: bool | None = None
    marrow_blast_pct: float | None = None
    peripheral_blasts_per_ul: float | None = None


@dataclass(frozen=True, slots=True)
class HistoryFacts:
    status: RRStatus
    initial_diagnosis_date: date | None = None
    initial_treatment_start_date: date | None = None
    relapse_dates: tuple[date, ...] = ()
    # None = the prior-therapy list has not been recorded (MULTI-06 blocks).
    prior_therapies: tuple[str, ...] | None = None
    prior_allogeneic_hct_date: date | None = None
    # Date the current r/r episode was documented (anchor DX); defaults to the
    # latest relapse date when not given.
    rr_diagnosis_date: date | None = None

    @property
    def relapse_count(self) -> int:
        return len(self.relapse_dates)

    @property
    def had_allogeneic_hct(self) -> bool | None:
        if self.prior_allogeneic_hct_date is not None:
            return True
        if self.prior_therapies is None:
            return None
        return "allogeneic_hct" in self.prior_therapies

    @property
    def dx_date(self) -> date | None:
        if self.rr_diagnosis_date is not None:
            return self.rr_diagnosis_date
        return self.relapse_dates[-1] if self.relapse_dates else None


@dataclass(frozen=True, slots=True)
class FitnessFacts:
    category: FitnessCategory | None = None
    ecog: int | None = None
    hct_eligible: HctEligible | None = None
    assessed_on: date | None = None


@dataclass(frozen=True, slots=True)
class CentreFacts:
    immunotherapy_capable: bool | None = None
    cart_qualified: bool | None = None


@dataclass(frozen=True, slots=True)
class Course:
    """The course in progress: one cycle of one regimen, anchored on a calendar date.

    ``cycle_start`` is day 1 of the cycle (for CAR-T, the infusion day 0). Day N
    is ``cycle_start + (N - 1)`` calendar days in the clinic's zone.
    ``ref`` identifies the course in task keys so that a second course of the
    same regimen in a later episode never collides with the first.
    """

    regimen: str
    cycle: int
    cycle_start: date
    phase: CoursePhase
    ref: str = ""
    # The first pre-phase day when a pre-phase preceded this course (BLIN-01).
    prephase_start: date | None = None
    # Cycle-1 length actually chosen for inotuzumab (INO-07: 21 or 28 days).
    cycle_length_days: int | None = None
    # Date of the last dose, once the course has ended (REV-12 / MON-16).
    last_dose_date: date | None = None

    @property
    def key(self) -> str:
        return self.ref or self.regimen


@dataclass(frozen=True, slots=True)
class LabResult:
    test: str
    value: float
    unit: str
    at: datetime  # timezone-aware
    uln: float | None = None
    lln: float | None = None
    # The value and unit as given, before conversion to the canonical unit (lab catalogue).
    entered_value: float | None = None
    entered_unit: str | None = None


# Extramedullary site names that mean the testes (sites are recorded as free text).
TESTICULAR_SITES = frozenset({"testis", "testes", "testicle", "testicles", "testicular"})


def is_testicular_site(site: str) -> bool:
    return site.strip().lower() in TESTICULAR_SITES


@dataclass(frozen=True, slots=True)
class StoppedMedication:
    """A medication taken off the list, and when (REV-04: an inhibitor that stops)."""

    name: str
    stopped_on: date


@dataclass(frozen=True, slots=True)
class Mrd:
    method: str | None = None
    value: float | None = None
    sensitivity: float | None = None


@dataclass(frozen=True, slots=True)
class ResponseAssessment:
    """One marrow/blood assessment, the inputs of DEF-15."""

    date: date
    marrow_blast_pct: float | None = None
    trilineage_hematopoiesis: bool | None = None
    circulating_blasts: bool | None = None
    peripheral_blasts_per_ul: float | None = None
    extramedullary_sites: frozenset[str] = frozenset()
    extramedullary_disease: bool | None = None
    anc_per_ul: float | None = None
    platelets_per_ul: float | None = None
    in_remission_before: bool | None = None
    end_of_induction: bool | None = None
    induction_rounds: int | None = None
    mrd: Mrd | None = None
    # Reference values for the 25 percent rule of DEF-08 (AMB-04).
    ref_marrow_blast_pct: float | None = None
    ref_peripheral_blasts_per_ul: float | None = None
    ref_extramedullary_sites: frozenset[str] | None = None
    # RESP-06: are CNS and testicular findings current for this assessment?
    csf_clear_since_last_positive: bool | None = None
    testicular_exam_documented: bool | None = None
    # TEST-03: has testicular disease present at diagnosis fully resolved? (the exam's answer)
    testicular_disease_resolved: bool | None = None

    @property
    def testicular_disease_unresolved(self) -> bool | None:
        """TEST-03: testicular disease still present at this assessment (None: not known).

        A testicular site among the active extramedullary sites is unresolved
        disease; otherwise the exam's recorded answer decides.
        """
        if any(is_testicular_site(site) for site in self.extramedullary_sites):
            return True
        if self.testicular_disease_resolved is None:
            return None
        return not self.testicular_disease_resolved


@dataclass(frozen=True, slots=True)
class SignedResponse:
    """A response category a clinician has signed (RESP-04); drives INO-09 and RESP-07."""

    category: ResponseCategory
    signed_on: date


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """Everything the engine may use for one patient, as of one clinic day."""

    as_of: date
    timezone: str
    patient: PatientFacts
    disease: DiseaseFacts
    history: HistoryFacts
    # None: the clinic's jurisdiction, the pathway default `jurisdiction` (AMB-11).
    jurisdiction: Jurisdiction | None = None
    fitness: FitnessFacts = field(default_factory=FitnessFacts)
    goal: Goal | None = None
    centre: CentreFacts = field(default_factory=CentreFacts)
    treatment: Course | None = None
    labs: tuple[LabResult, ...] = ()
    response_assessment: ResponseAssessment | None = None
    signed_response: SignedResponse | None = None
    medications: tuple[str, ...] = ()
    # Medications stopped, with the day they stopped (REV-03/REV-04 re-dosing).
    stopped_medications: tuple[StoppedMedication, ...] = ()
    declines_therapy: bool = False
    # The phase a clinician last confirmed (from the database); None for a case
    # file, where the engine infers a suggested phase.
    phase: Phase | None = None

    @property
    def age(self) -> int:
        return self.patient.age_on(self.as_of)
