"""The synthetic demo cohort: invented patients spread over the branches of the induction tree.

Every person here is fictional. Each entry is a carepath.case/1 fragment
(facts) plus a story: the phase events a clinician signed and the course in
progress, with dates relative to the demo's "today" so the cohort is always
current. The stories only use transitions the phase machine allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class StoryStep:
    event: str
    days_ago: int
    reason: str
    response: str | None = None


@dataclass(frozen=True)
class DemoCourse:
    regimen: str
    days_ago: int  # day 1 (CAR-T: infusion day 0) is this many days before today
    phase: str = "induction"
    cycle: int = 1
    prephase_days_ago: int | None = None


@dataclass(frozen=True)
class DemoPatient:
    mrn: str
    name: str
    branch: str  # which branch of the induction tree the patient illustrates
    facts: dict[str, Any]
    story: tuple[StoryStep, ...] = ()
    course: DemoCourse | None = None
    labs: tuple[dict[str, Any], ...] = ()
    medications: tuple[str, ...] = ()


DX = StoryStep("document_rr_diagnosis", 30, "r/r disease documented on marrow")
WORKUP = StoryStep(
    "complete_workup", 20, "decision-critical workup resulted (WU-02..06, WU-27, WU-28)"
)


def _start(days: int) -> StoryStep:
    return StoryStep("start_induction", days, "clinician selected the regimen")


def _b(cd19: str | None, cd22: str | None, **more: Any) -> dict[str, Any]:
    return {
        "lineage": "B",
        "cd19": cd19,
        "cd22": cd22,
        "ph_positive": False,
        "kmt2a_rearranged": False,
    } | more


def _history(relapses: list[int], **more: Any) -> dict[str, Any]:
    """Relapse dates as days before today, oldest first (converted by ``materialise``)."""
    return {"status": "relapsed", "relapse_days_ago": relapses} | more


COHORT: tuple[DemoPatient, ...] = (
    DemoPatient(
        "DEMO-001", "Alma Reyes", "immunotherapy (blinatumomab)",
        {"patient": {"birth_date": "1979-04-11", "sex_at_birth": "female", "weight_kg": 64, "height_cm": 166, "reproductive_potential": True},
         "disease": _b("positive", "positive", cd20="negative", marrow_blast_pct=35, peripheral_blasts_per_ul=2100, cns_status="negative"),
         "history": _history([33], initial_diagnosis_days_ago=1500, prior_therapies=["hyper_cvad"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"}, "goal": "cure"},
        (DX, WORKUP, _start(10)), DemoCourse("blinatumomab", 10),
    ),
    DemoPatient(
        "DEMO-002", "Bruno Keller", "immunotherapy (inotuzumab)",
        {"patient": {"birth_date": "1966-09-02", "sex_at_birth": "male", "has_testes": True, "weight_kg": 82, "height_cm": 180},
         "disease": _b("positive", "positive", cd20="positive", marrow_blast_pct=48, cns_status="negative", testicular_involvement=False),
         "history": _history([40], initial_diagnosis_days_ago=900, prior_therapies=["hyper_cvad", "rituximab"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "pending"}, "goal": "cure"},
        (DX, WORKUP, _start(6)), DemoCourse("inotuzumab_ozogamicin", 6),
    ),
    DemoPatient(
        "DEMO-003", "Chiara Monti", "immunotherapy with pre-phase (high burden)",
        {"patient": {"birth_date": "1984-01-23", "sex_at_birth": "female", "weight_kg": 58, "height_cm": 162},
         "disease": _b("positive", "positive", marrow_blast_pct=78, peripheral_blasts_per_ul=24000, cns_status="negative"),
         "history": _history([20], initial_diagnosis_days_ago=700, prior_therapies=["gmall_regimen"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 20, "r/r disease documented"), StoryStep("complete_workup", 14, "workup resulted"), _start(2)),
        DemoCourse("blinatumomab", -5, prephase_days_ago=2),
    ),
    DemoPatient(
        "DEMO-004", "Dario Lind", "immunotherapy (CAR-T, tisagenlecleucel age <= 25)",
        {"patient": {"birth_date": "2002-06-30", "sex_at_birth": "male", "has_testes": True, "weight_kg": 71, "height_cm": 178},
         "disease": _b("positive", "negative", marrow_blast_pct=22, cns_status="negative", testicular_involvement=False),
         "history": _history([400, 60], initial_diagnosis_days_ago=1300, prior_therapies=["hyper_cvad", "blinatumomab"]),
         "fitness": {"category": "fit", "ecog": 0, "hct_eligible": "yes"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 60, "second relapse documented"), StoryStep("complete_workup", 45, "workup resulted"), _start(4)),
        DemoCourse("tisagenlecleucel", 4),
    ),
    DemoPatient(
        "DEMO-005", "Eva Novak", "immunotherapy (CAR-T, brexucabtagene)",
        {"patient": {"birth_date": "1975-12-05", "sex_at_birth": "female", "weight_kg": 70, "height_cm": 170},
         "disease": _b("positive", "positive", marrow_blast_pct=15, cns_status="negative"),
         "history": _history([70], initial_diagnosis_days_ago=1100, prior_therapies=["hyper_cvad", "inotuzumab_ozogamicin"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"}, "goal": "cure"},
        (DX, WORKUP, _start(12)), DemoCourse("brexucabtagene_autoleucel", 12),
    ),
    DemoPatient(
        "DEMO-006", "Farid Haddad", "immunotherapy, CD22-negative",
        {"patient": {"birth_date": "1970-03-17", "sex_at_birth": "male", "has_testes": True, "weight_kg": 90, "height_cm": 183},
         "disease": _b("positive", "negative", cd20="negative", marrow_blast_pct=41, cns_status="negative", testicular_involvement=False),
         "history": _history([15], initial_diagnosis_days_ago=1000, prior_therapies=["calgb_9111"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "pending"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 15, "relapse documented"), StoryStep("complete_workup", 3, "workup resulted")),
    ),
    DemoPatient(
        "DEMO-007", "Greta Sousa", "immunotherapy, CD19-negative (inotuzumab)",
        {"patient": {"birth_date": "1962-08-08", "sex_at_birth": "female", "weight_kg": 61, "height_cm": 158},
         "disease": _b("negative", "positive", marrow_blast_pct=55, cns_status="negative"),
         "history": _history([35], initial_diagnosis_days_ago=800, prior_therapies=["blinatumomab", "hyper_cvad"]),
         "fitness": {"category": "less_fit", "ecog": 2, "hct_eligible": "no"}, "goal": "cure"},
        (DX, WORKUP, _start(16)), DemoCourse("inotuzumab_ozogamicin", 16),
    ),
    DemoPatient(
        "DEMO-008", "Hiro Tanaka", "CD19-/CD22-negative, KMT2A-rearranged (revumenib)",
        {"patient": {"birth_date": "1988-02-14", "sex_at_birth": "male", "has_testes": True, "weight_kg": 38, "height_cm": 160},
         "disease": _b("negative", "negative", kmt2a_rearranged=True, marrow_blast_pct=63, cns_status="negative", testicular_involvement=False),
         "history": _history([25], initial_diagnosis_days_ago=600, prior_therapies=["blinatumomab", "inotuzumab_ozogamicin"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"}, "goal": "cure"},
        (DX, WORKUP, _start(9)), DemoCourse("revumenib", 9), medications=("posaconazole",),
    ),
    DemoPatient(
        "DEMO-009", "Ines Varga", "CD19-/CD22-negative, no KMT2A, fit (chemotherapy)",
        {"patient": {"birth_date": "1990-10-01", "sex_at_birth": "female", "weight_kg": 57, "height_cm": 164, "reproductive_potential": True},
         "disease": _b("negative", "negative", cd20="positive", marrow_blast_pct=70, cns_status="negative"),
         "history": _history([28], initial_diagnosis_days_ago=1200, prior_therapies=["blinatumomab", "gmall_regimen"]),
         "fitness": {"category": "fit", "ecog": 0, "hct_eligible": "yes"}, "goal": "cure"},
        (DX, WORKUP, _start(8)), DemoCourse("chemotherapy_high_intensity", 8),
    ),
    DemoPatient(
        "DEMO-010", "Jonas Berg", "CD19-/CD22-negative, no KMT2A, less fit",
        {"patient": {"birth_date": "1956-05-19", "sex_at_birth": "male", "has_testes": True, "weight_kg": 77, "height_cm": 175},
         "disease": _b("negative", "negative", cd20="negative", marrow_blast_pct=50, cns_status="negative", testicular_involvement=False),
         "history": _history([12], initial_diagnosis_days_ago=2000, prior_therapies=["pethema_allold07", "blinatumomab"]),
         "fitness": {"category": "less_fit", "ecog": 2, "hct_eligible": "no"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 12, "relapse documented"), StoryStep("complete_workup", 2, "workup resulted")),
    ),
    DemoPatient(
        "DEMO-011", "Kamala Iyer", "Ph-positive, CD19+ (TKI + immunotherapy)",
        {"patient": {"birth_date": "1968-07-07", "sex_at_birth": "female", "weight_kg": 66, "height_cm": 160},
         "disease": _b("positive", "positive", ph_positive=True, abl1_kinase_mutations=["T315I"], marrow_blast_pct=30, cns_status="negative"),
         "history": _history([24], initial_diagnosis_days_ago=1400, prior_therapies=["dasatinib", "hyper_cvad"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"}, "goal": "cure"},
        (DX, WORKUP, _start(5)), DemoCourse("blinatumomab", 5),
    ),
    DemoPatient(
        "DEMO-012", "Luca Ferri", "Ph-positive, CD19-/CD22-, mutation testing pending",
        {"patient": {"birth_date": "1959-11-29", "sex_at_birth": "male", "has_testes": True, "weight_kg": 85, "height_cm": 177},
         "disease": _b("negative", "negative", ph_positive=True, abl1_kinase_mutations=None, marrow_blast_pct=44),
         "history": _history([9], initial_diagnosis_days_ago=1700, prior_therapies=["imatinib", "hyper_cvad"]),
         "fitness": {"category": "less_fit", "ecog": 2, "hct_eligible": "pending"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 9, "relapse documented"),),
    ),
    DemoPatient(
        "DEMO-013", "Mateo Ruiz", "T-cell (nelarabine), testicular disease",
        {"patient": {"birth_date": "1993-03-03", "sex_at_birth": "male", "has_testes": True, "weight_kg": 74, "height_cm": 181},
         "disease": {"lineage": "T", "ph_positive": False, "kmt2a_rearranged": False, "marrow_blast_pct": 38, "cns_status": "negative", "testicular_involvement": True},
         "history": _history([30], initial_diagnosis_days_ago=1000, prior_therapies=["hyper_cvad"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"}, "goal": "cure"},
        (DX, WORKUP, _start(3)), DemoCourse("nelarabine", 3),
    ),
    DemoPatient(
        "DEMO-014", "Nadia Petrova", "T-cell, CNS involvement",
        {"patient": {"birth_date": "1987-09-21", "sex_at_birth": "female", "weight_kg": 60, "height_cm": 168},
         "disease": {"lineage": "T", "ph_positive": False, "kmt2a_rearranged": False, "marrow_blast_pct": 27, "cns_status": "involved"},
         "history": _history([6], initial_diagnosis_days_ago=1500, prior_therapies=["hyper_cvad"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "pending"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 6, "relapse documented"),),
    ),
    DemoPatient(
        "DEMO-015", "Oskar Wenzel", "frail (supportive care)",
        {"patient": {"birth_date": "1944-01-15", "sex_at_birth": "male", "has_testes": True, "weight_kg": 59, "height_cm": 169},
         "disease": _b("positive", "positive", marrow_blast_pct=60),
         "history": _history([18], initial_diagnosis_days_ago=900, prior_therapies=["vincristine_prednisone"]),
         "fitness": {"category": "frail", "ecog": 4, "hct_eligible": "no"}, "goal": "symptom_relief"},
        (StoryStep("document_rr_diagnosis", 18, "relapse documented"),
         StoryStep("route_to_supportive_care", 10, "frail; patient and family chose symptom relief (FIT-07)")),
    ),
    DemoPatient(
        "DEMO-016", "Paula Lindqvist", "multiply relapsed",
        {"patient": {"birth_date": "1972-04-04", "sex_at_birth": "female", "weight_kg": 68, "height_cm": 171},
         "disease": _b("positive", "positive", marrow_blast_pct=33),
         "history": _history([700, 14], initial_diagnosis_days_ago=2200, prior_therapies=["hyper_cvad", "blinatumomab"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 14, "second relapse documented"),
         StoryStep("complete_workup", 8, "workup resulted")),
    ),
    DemoPatient(
        "DEMO-017", "Rafael Costa", "relapse after allogeneic HCT (DLI)",
        {"patient": {"birth_date": "1981-12-12", "sex_at_birth": "male", "has_testes": True, "weight_kg": 79, "height_cm": 176},
         "disease": _b("positive", "positive", marrow_blast_pct=19),
         "history": _history([800, 11], initial_diagnosis_days_ago=1600, prior_therapies=["hyper_cvad", "inotuzumab_ozogamicin", "allogeneic_hct"],
                             prior_allogeneic_hct_days_ago=400),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "no"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 11, "post-HCT relapse documented"),),
    ),
    DemoPatient(
        "DEMO-018", "Sofia Marin", "blinatumomab responder on maintenance",
        {"patient": {"birth_date": "1958-06-06", "sex_at_birth": "female", "weight_kg": 63, "height_cm": 159},
         "disease": _b("positive", "positive", marrow_blast_pct=3),
         "history": _history([200], initial_diagnosis_days_ago=1900, prior_therapies=["hyper_cvad"]),
         "fitness": {"category": "less_fit", "ecog": 1, "hct_eligible": "no"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 200, "relapse documented"), StoryStep("complete_workup", 190, "workup resulted"),
         _start(180), StoryStep("begin_response_assessment", 152, "C1 infusion complete"),
         StoryStep("remission_without_hct", 145, "CR signed; not HCT-eligible (POST-10)", response="CR")),
        DemoCourse("blinatumomab", 40, phase="maintenance"),
    ),
    DemoPatient(
        "DEMO-019", "Tomas Horvat", "inotuzumab responder going to HCT",
        {"patient": {"birth_date": "1977-02-02", "sex_at_birth": "male", "has_testes": True, "weight_kg": 88, "height_cm": 185},
         "disease": _b("negative", "positive", marrow_blast_pct=2),
         "history": _history([80], initial_diagnosis_days_ago=1000, prior_therapies=["blinatumomab"]),
         "fitness": {"category": "fit", "ecog": 0, "hct_eligible": "yes"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 80, "relapse documented"), StoryStep("complete_workup", 70, "workup resulted"),
         _start(60), StoryStep("begin_response_assessment", 40, "C1 D18 marrow window"),
         StoryStep("remission_to_hct", 12, "CRi signed; transplant referral (POST-01)", response="CRi")),
        DemoCourse("inotuzumab_ozogamicin", 60),
    ),
    DemoPatient(
        "DEMO-020", "Ulla Jansen", "surveillance after therapy",
        {"patient": {"birth_date": "1969-10-10", "sex_at_birth": "female", "weight_kg": 72, "height_cm": 174},
         "disease": _b("positive", "positive", marrow_blast_pct=1),
         "history": _history([500], initial_diagnosis_days_ago=2500, prior_therapies=["hyper_cvad", "blinatumomab", "allogeneic_hct"]),
         "fitness": {"category": "fit", "ecog": 0, "hct_eligible": "yes"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 500, "relapse documented"), StoryStep("complete_workup", 490, "workup resulted"),
         _start(480), StoryStep("begin_response_assessment", 450, "response window"),
         StoryStep("remission_to_hct", 440, "CR signed, MRD negative", response="CR"),
         StoryStep("complete_planned_therapy", 300, "HCT and post-HCT programme complete")),
        DemoCourse("blinatumomab", 480),
    ),
    DemoPatient(
        "DEMO-021", "Viktor Blom", "blinatumomab cycle 1 complete, response assessment due",
        {"patient": {"birth_date": "1963-03-30", "sex_at_birth": "male", "has_testes": True, "weight_kg": 95, "height_cm": 188},
         "disease": _b("positive", "negative", marrow_blast_pct=40),
         "history": _history([45], initial_diagnosis_days_ago=1200, prior_therapies=["hyper_cvad"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 50, "relapse documented"), StoryStep("complete_workup", 35, "workup resulted"),
         _start(30), StoryStep("begin_response_assessment", 1, "C1 infusion complete; marrow due")),
        DemoCourse("blinatumomab", 30),
    ),
    DemoPatient(
        "DEMO-022", "Wanda Zielinska", "refractory to inotuzumab",
        {"patient": {"birth_date": "1960-01-01", "sex_at_birth": "female", "weight_kg": 55, "height_cm": 157},
         "disease": _b("negative", "positive", marrow_blast_pct=45),
         "history": {"status": "refractory", "relapse_days_ago": [], "initial_diagnosis_days_ago": 300, "prior_therapies": ["hyper_cvad", "hyper_cvad"]},
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 90, "primary refractory after two rounds"), StoryStep("complete_workup", 80, "workup resulted"),
         _start(75), StoryStep("begin_response_assessment", 50, "marrow window"),
         StoryStep("record_refractory", 45, "no CR at end of induction (DEF-06)", response="refractory")),
        DemoCourse("inotuzumab_ozogamicin", 75),
    ),
    DemoPatient(
        "DEMO-023", "Xaver Roth", "CD19-/CD22-negative, fit, age 76 (caution)",
        {"patient": {"birth_date": "1950-02-20", "sex_at_birth": "male", "has_testes": True, "weight_kg": 80, "height_cm": 172},
         "disease": _b("negative", "negative", cd20="positive", marrow_blast_pct=52),
         "history": _history([7], initial_diagnosis_days_ago=2100, prior_therapies=["blinatumomab", "pethema_allold07"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "no"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 7, "relapse documented"), StoryStep("complete_workup", 1, "workup resulted")),
    ),
    DemoPatient(
        "DEMO-024", "Yara Haddad", "suspected relapse, workup not started",
        {"patient": {"birth_date": "1995-05-25", "sex_at_birth": "female", "weight_kg": 62, "height_cm": 167, "reproductive_potential": True},
         "disease": {"lineage": "B"},
         "history": _history([1], initial_diagnosis_days_ago=900, prior_therapies=["pediatric_inspired_regimen"])},
        (),
    ),
    DemoPatient(
        "DEMO-025", "Zeno Marchetti", "multiply relapsed, enrolled in a clinical trial",
        {"patient": {"birth_date": "1974-07-17", "sex_at_birth": "male", "has_testes": True, "weight_kg": 83, "height_cm": 179},
         "disease": _b("positive", "positive", marrow_blast_pct=25),
         "history": _history([900, 300, 21], initial_diagnosis_days_ago=2600, prior_therapies=["hyper_cvad", "blinatumomab", "inotuzumab_ozogamicin"]),
         "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"}, "goal": "cure"},
        (StoryStep("document_rr_diagnosis", 21, "third relapse documented"), StoryStep("complete_workup", 14, "workup resulted"),
         StoryStep("enrol_in_trial", 7, "enrolled in a phase 1 study (MULTI-01)")),
    ),
)  # fmt: skip


def materialise(entry: DemoPatient, today: date, timezone: str) -> dict[str, Any]:
    """The entry's facts as a carepath.case/1 document dated ``today``."""
    facts = {
        key: (dict(value) if isinstance(value, dict) else value)
        for key, value in entry.facts.items()
    }
    history = dict(facts["history"])
    relapse_days = history.pop("relapse_days_ago", [])
    history["relapse_dates"] = [(today - timedelta(days=d)).isoformat() for d in relapse_days]
    if "initial_diagnosis_days_ago" in history:
        days = history.pop("initial_diagnosis_days_ago")
        history["initial_diagnosis_date"] = (today - timedelta(days=days)).isoformat()
        history["initial_treatment_start_date"] = (today - timedelta(days=days - 4)).isoformat()
    if "prior_allogeneic_hct_days_ago" in history:
        days = history.pop("prior_allogeneic_hct_days_ago")
        history["prior_allogeneic_hct_date"] = (today - timedelta(days=days)).isoformat()
    facts["history"] = history
    facts["medications"] = list(entry.medications)
    return {"format": "carepath.case/1", "as_of": today.isoformat(), "timezone": timezone} | facts
