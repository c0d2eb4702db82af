"""The controlled vocabulary of the pathway.

Every value that crosses a boundary (case file, database column, API field) is
one of these enums, stored as its string value. The strings are the public ids
of ``../shared/contracts/CASE-FORMAT.md``; renaming one is a format change.
"""

from __future__ import annotations

from enum import StrEnum

from pathways.core.window import OPEN_STATUSES


class Phase(StrEnum):
    """Main-line states of the patient state machine (RULES.md §0.5)."""

    SUSPECTED_RR = "suspected_rr"  # SM-01
    WORKUP = "workup"  # SM-02
    INDUCTION_SELECTION = "induction_selection"  # SM-03
    INDUCTION = "induction"  # SM-04
    RESPONSE_ASSESSMENT = "response_assessment"  # SM-05
    POST_REMISSION_HCT = "post_remission_hct"  # SM-06
    POST_REMISSION_NON_HCT = "post_remission_non_hct"  # SM-07
    SURVEILLANCE = "surveillance"  # SM-08
    RELAPSE = "relapse"  # SM-09
    REFRACTORY = "refractory"  # SM-10
    MULTIPLY_RELAPSED = "multiply_relapsed"  # SM-11
    PALLIATIVE = "palliative"  # SM-12
    CLINICAL_TRIAL = "clinical_trial"  # SM-13
    # Administrative end of tracking (death, transfer of care, end of follow-up).
    # RULES.md names SM-12 "terminal" but no end state; this one is local policy.
    ENDED = "ended"


class CnsTrack(StrEnum):
    """Parallel track SM-P1 (CNS prophylaxis or treatment)."""

    NOT_STARTED = "not_started"
    PROPHYLAXIS = "prophylaxis"
    TREATMENT = "treatment"  # documented CNS involvement (CNS-05)
    COMPLETE = "complete"


class TestisTrack(StrEnum):
    """Parallel track SM-P2 (testicular disease at DX)."""

    NOT_APPLICABLE = "not_applicable"
    ACTIVE = "active"
    RESOLVED = "resolved"
    RT_COMPLETE = "rt_complete"


class Lineage(StrEnum):
    B = "B"
    T = "T"


class Antigen(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"


class RRStatus(StrEnum):
    RELAPSED = "relapsed"
    REFRACTORY = "refractory"


class CnsStatus(StrEnum):
    NEGATIVE = "negative"
    INVOLVED = "involved"


class FitnessCategory(StrEnum):
    """FIT-03: assigned by a clinician, never derived from scores."""

    FIT = "fit"
    LESS_FIT = "less_fit"
    FRAIL = "frail"


class HctEligible(StrEnum):
    """FIT-08: clinician-entered."""

    YES = "yes"
    NO = "no"
    PENDING = "pending"


class Goal(StrEnum):
    """WU-28 / RESP-01."""

    CURE = "cure"
    SYMPTOM_RELIEF = "symptom_relief"


class Jurisdiction(StrEnum):
    US = "US"
    EU = "EU"


class CoursePhase(StrEnum):
    PREPHASE = "prephase"
    INDUCTION = "induction"
    CONSOLIDATION = "consolidation"
    MAINTENANCE = "maintenance"


class OptionId(StrEnum):
    BLINATUMOMAB = "blinatumomab"
    INOTUZUMAB = "inotuzumab_ozogamicin"
    TISAGENLECLEUCEL = "tisagenlecleucel"
    BREXUCABTAGENE = "brexucabtagene_autoleucel"
    OBECABTAGENE = "obecabtagene_autoleucel"
    REVUMENIB = "revumenib"
    NELARABINE = "nelarabine"
    CHEMO_HIGH = "chemotherapy_high_intensity"
    CHEMO_MODERATE = "chemotherapy_moderate_intensity"
    CHEMO_LOW = "chemotherapy_low_intensity"
    PRIOR_REGIMEN = "prior_induction_regimen"
    SUPPORTIVE_CARE = "supportive_care"
    CLINICAL_TRIAL = "clinical_trial"
    ALLOGENEIC_HCT = "allogeneic_hct"
    DLI = "donor_lymphocyte_infusion"


CART_PRODUCTS = frozenset(
    {OptionId.TISAGENLECLEUCEL, OptionId.BREXUCABTAGENE, OptionId.OBECABTAGENE}
)
CHEMOTHERAPY_OPTIONS = frozenset({OptionId.CHEMO_HIGH, OptionId.CHEMO_MODERATE, OptionId.CHEMO_LOW})


class BranchId(StrEnum):
    SUPPORTIVE_CARE = "supportive_care"
    PH_POSITIVE = "ph_positive"
    T_CELL = "t_cell"
    IMMUNOTHERAPY = "immunotherapy"
    KMT2A = "kmt2a"
    CHEMOTHERAPY = "chemotherapy"
    MULTIPLY_RELAPSED = "multiply_relapsed"


class OverlayId(StrEnum):
    BCR_ABL1_TKI = "bcr_abl1_tki"
    ABL1_MUTATION_TESTING = "abl1_mutation_testing"
    RITUXIMAB = "rituximab"
    PREPHASE = "prephase"
    CLINICAL_TRIAL_PROMPT = "clinical_trial_prompt"
    SOS_RISK_TRANSPLANT_TEAM = "sos_risk_transplant_team"
    CNS_PROPHYLAXIS = "cns_prophylaxis"
    AGE_75_CAUTION = "age_75_caution"


class ResponseCategory(StrEnum):
    CR = "CR"
    CRH = "CRh"
    CRI = "CRi"
    # DEF-09 / AMB-06: clinician-entered only, never computed.
    PARTIAL_RESPONSE = "partial_response"
    REFRACTORY = "refractory"
    RELAPSE = "relapse"
    PROGRESSIVE_DISEASE = "progressive_disease"
    INDETERMINATE = "indeterminate"
    NOT_IN_REMISSION = "not_in_remission"


REMISSION_CATEGORIES = frozenset(
    {
        ResponseCategory.CR,
        ResponseCategory.CRH,
        ResponseCategory.CRI,
        ResponseCategory.PARTIAL_RESPONSE,
    }
)


class TaskKind(StrEnum):
    WORKUP_ITEM = "workup_item"
    DOSE = "dose"
    PREMEDICATION = "premedication"
    POST_INFUSION_OBSERVATION = "post_infusion_observation"
    LAB_PANEL = "lab_panel"
    BONE_MARROW_ASSESSMENT = "bone_marrow_assessment"
    LUMBAR_PUNCTURE = "lumbar_puncture"
    INTRATHECAL_THERAPY = "intrathecal_therapy"
    INPATIENT_MONITORING = "inpatient_monitoring"
    CRS_ICANS_MONITORING = "crs_icans_monitoring"
    NEURO_ASSESSMENT = "neuro_assessment"
    ECG = "ecg"
    DIFFERENTIATION_SYNDROME_CHECK = "differentiation_syndrome_check"
    TRANSPLANT_REFERRAL = "transplant_referral"
    MAINTENANCE_CYCLE_START = "maintenance_cycle_start"
    RADIOTHERAPY = "radiotherapy"
    CLINICIAN_REVIEW = "clinician_review"


class Role(StrEnum):
    """Who a task or alert is routed to (RULES.md §0.3 'Who')."""

    COORDINATOR = "coordinator"
    CLINICIAN = "clinician"
    QUALITY = "quality"
    ADMIN = "admin"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class TaskStatus(StrEnum):
    """FHIR Task status subset used by the tracker (ARCHITECTURE.md, Tasks)."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


# The open statuses are defined once, in pathways.core.window.
OPEN_TASK_STATUSES = frozenset(TaskStatus(s) for s in OPEN_STATUSES)
