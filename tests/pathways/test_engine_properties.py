"""The whole engine (``evaluate`` + ``evaluation_document``) over many generated patients (hypothesis).

Whatever the facts, the safety contract of RULES.md §10 and CASE-FORMAT.md holds:

- options are never ranked and never also excluded; every exclusion has a reason;
  an unknown CD19 or CD22 status excludes the drug that targets it (IND-06b);
- a response category always requires a signature (DEF-15, RESP-04);
- no dose is ever released (§10 rule 1), and every per-m2 figure is the
  product of the amount and the BSA shown beside it;
- a safety task is never suppressed by lab results (§10 rule 3): the same
  safety tasks are planned with and without any labs;
- every rule id in the document is one of RULES.md, every default used is a
  named setting of the definition and is listed in ``defaults_used``;
- the document is JSON and the same facts give the same document.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathways.casefile import parse_case
from pathways.definition import load_catalogue
from pathways.engine import evaluate, evaluation_document
from pathways.vocab import BranchId, OptionId, OverlayId, ResponseCategory, TaskKind
from tests.pathways.test_schedule_helpers import case, definition

ZONES = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC")
REGIMENS = (
    None,
    "blinatumomab",
    "inotuzumab_ozogamicin",
    "tisagenlecleucel",
    "obecabtagene_autoleucel",
    "revumenib",
    "nelarabine",
    "chemotherapy_high_intensity",
)
ANTIGEN = st.sampled_from([None, "positive", "negative"])
MAYBE_BOOL = st.sampled_from([None, False, True])


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    as_of = draw(st.dates(min_value=date_(2025, 1, 1), max_value=date_(2030, 12, 31)))
    relapses = draw(st.integers(0, 3))
    dx = as_of.toordinal() - draw(st.integers(1, 60))
    relapse_dates = [str(date_from(dx - 400 * (relapses - 1 - i))) for i in range(relapses)]
    changes: dict[str, Any] = {
        "as_of": str(as_of),
        "timezone": draw(st.sampled_from(ZONES)),
        "jurisdiction": draw(st.sampled_from([None, "US", "EU"])),
        "patient.birth_date": str(date_from(as_of.toordinal() - draw(st.integers(17, 85)) * 365)),
        "patient.has_testes": draw(MAYBE_BOOL),
        "patient.reproductive_potential": draw(MAYBE_BOOL),
        "patient.weight_kg": draw(st.sampled_from([None, 38.0, 44.0, 70.0, 95.0])),
        "patient.height_cm": draw(st.sampled_from([None, 150.0, 178.0])),
        "disease.lineage": draw(st.sampled_from(["B", "T"])),
        "disease.cd19": draw(ANTIGEN),
        "disease.cd22": draw(ANTIGEN),
        "disease.cd20": draw(ANTIGEN),
        "disease.ph_positive": draw(MAYBE_BOOL),
        "disease.abl1_kinase_mutations": draw(st.sampled_from([None, [], ["T315I"]])),
        "disease.kmt2a_rearranged": draw(MAYBE_BOOL),
        "disease.cns_status": draw(st.sampled_from([None, "negative", "involved"])),
        "disease.testicular_involvement": draw(MAYBE_BOOL),
        "disease.marrow_blast_pct": draw(st.sampled_from([None, 5.0, 30.0, 80.0])),
        "disease.peripheral_blasts_per_ul": draw(st.sampled_from([None, 0, 12000, 20000])),
        "history.status": "relapsed" if relapses else "refractory",
        "history.relapse_dates": relapse_dates,
        "history.rr_diagnosis_date": None if relapses else str(date_from(dx)),
        "history.initial_diagnosis_date": str(date_from(dx - 1500)),
        "history.prior_therapies": draw(
            st.sampled_from([None, [], ["hyper_cvad"], ["blinatumomab", "revumenib"]])
        ),
        "fitness.category": draw(st.sampled_from([None, "fit", "less_fit", "frail"])),
        "fitness.hct_eligible": draw(st.sampled_from([None, "yes", "no", "pending"])),
        "goal": draw(st.sampled_from([None, "cure", "symptom_relief"])),
        "declines_therapy": draw(st.booleans()),
        "centre": {
            "immunotherapy_capable": draw(MAYBE_BOOL),
            "cart_qualified": draw(MAYBE_BOOL),
        },
        "medications": draw(st.sampled_from([[], ["posaconazole"]])),
    }
    # Facts that contradict each other are refused at the door (pathways.consistency,
    # tested on its own); the contract below is about facts the engine accepts.
    if changes["disease.ph_positive"] is False:
        changes["disease.abl1_kinase_mutations"] = draw(st.sampled_from([None, []]))
    if changes["patient.has_testes"] is False and changes["disease.testicular_involvement"]:
        changes["disease.testicular_involvement"] = None
    regimen = draw(st.sampled_from(REGIMENS))
    if regimen is not None:
        changes["treatment"] = {
            "regimen": regimen,
            "cycle": draw(st.integers(1, 3)),
            "cycle_start": str(date_from(as_of.toordinal() - draw(st.integers(-10, 40)))),
            "phase": draw(st.sampled_from(["induction", "consolidation", "maintenance"])),
        }
    if draw(st.booleans()):
        changes["response_assessment"] = {
            "date": str(as_of),
            "marrow_blast_pct": draw(st.sampled_from([None, 2.0, 5.0, 12.0, 40.0])),
            "trilineage_hematopoiesis": draw(MAYBE_BOOL),
            "circulating_blasts": draw(MAYBE_BOOL),
            "extramedullary_disease": draw(MAYBE_BOOL),
            "anc_per_ul": draw(st.sampled_from([None, 400, 700, 1500])),
            "platelets_per_ul": draw(st.sampled_from([None, 30000, 60000, 150000])),
            "in_remission_before": draw(MAYBE_BOOL),
            "end_of_induction": draw(MAYBE_BOOL),
            "reference_marrow_blast_pct": draw(st.sampled_from([None, 10.0, 30.0])),
        }
    if draw(st.booleans()):
        stamp = f"{as_of}T08:00:00+00:00"
        changes["labs"] = [
            {"test": "total_bilirubin", "value": 2.5, "unit": "mg/dL", "uln": 1.2, "at": stamp},
            {"test": "ast", "value": 150, "unit": "U/L", "uln": 40, "at": stamp},
            {"test": "qtcf_ms", "value": 510, "unit": "ms", "at": stamp},
            {"test": "platelets", "value": 20, "unit": "10^9/L", "at": stamp},
            {"test": "anc", "value": 300, "unit": "/uL", "at": stamp},
        ]
    return case(**changes)


def date_(year: int, month: int, day: int) -> Any:
    from datetime import date

    return date(year, month, day)


def date_from(ordinal: int) -> Any:
    from datetime import date

    return date.fromordinal(ordinal)


def rule_ids_in(document: Any) -> set[str]:
    """Every value of a "rule_id" or "rule_ids" field anywhere in the document."""
    found: set[str] = set()
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "rule_id" and isinstance(value, str):
                found.add(value)
            elif key == "rule_ids" and isinstance(value, list):
                found.update(value)
            else:
                found |= rule_ids_in(value)
    elif isinstance(document, list):
        for value in document:
            found |= rule_ids_in(value)
    return found


def doses_in(document: Any) -> list[dict[str, Any]]:
    return [t["dose"] for t in document["tasks"] if "dose" in t]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_the_safety_contract_holds_for_any_patient(data: dict[str, Any]) -> None:
    # rule: IND-06a, IND-06b, DEF-15, RESP-04, AMB-24, INO-05, MON-13
    defn = definition()
    facts = parse_case(data)
    text = json.dumps(evaluation_document(evaluate(facts, defn)), sort_keys=True)
    # deterministic: the same facts give the same document
    assert text == json.dumps(evaluation_document(evaluate(facts, defn)), sort_keys=True)
    document = json.loads(text)

    induction = document["induction"]
    assert induction["ranked"] is False
    assert induction["branch"] in {b.value for b in BranchId}
    offered = {o["id"] for o in induction["options"]}
    excluded = {e["id"]: e["reason"] for e in induction["excluded"]}
    assert offered <= {o.value for o in OptionId} and set(excluded) <= {o.value for o in OptionId}
    assert not offered & set(excluded), "an option is never also excluded"
    assert all(reason.strip() for reason in excluded.values())
    assert {o["id"] for o in induction["overlays"]} <= {o.value for o in OverlayId}
    disease_directed = not (
        facts.declines_therapy
        or data["fitness"].get("category") == "frail"
        or data.get("goal") == "symptom_relief"
    )
    if disease_directed and data["disease"]["lineage"] == "B":
        for antigen, drug in (("cd19", "blinatumomab"), ("cd22", "inotuzumab_ozogamicin")):
            if data["disease"][antigen] is None:
                assert f"{antigen.upper()} status unknown" in excluded[drug]

    response = document["response"]
    if data.get("response_assessment") is None:
        assert response is None
    else:
        assert response["requires_signature"] is True
        assert response["category"] in {c.value for c in ResponseCategory}
        assert response["category"] != "partial_response"  # DEF-09: never computed

    for dose in doses_in(document):
        assert dose["released"] is False
        if dose.get("bsa_m2") is not None and dose["value"] is not None:
            product = round(dose["value"] * dose["bsa_m2"], 3)
            assert dose["calculated"] == product or "capped" in (dose.get("note") or "")

    catalogue = set(load_catalogue())
    assert rule_ids_in(document) <= catalogue
    assert {t["kind"] for t in document["tasks"]} <= {k.value for k in TaskKind}
    used = {d["name"] for d in document["defaults_used"]}
    assert used <= set(defn.defaults)
    for task in document["tasks"]:
        assert set(task.get("defaults_used", ())) <= used, task["key"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_lab_results_never_remove_a_safety_task(data: dict[str, Any]) -> None:
    # rule: INO-05, REV-06, NEL-03, MON-01, CART-04 — §10 rule 3: abnormal or normal,
    # earlier results never suppress a due safety task.
    defn = definition()
    without = {**data, "labs": []}
    normal_stamp = f"{data['as_of']}T07:00:00+00:00"
    normal = {
        **data,
        "labs": [
            {"test": "alt", "value": 20, "unit": "U/L", "uln": 40, "at": normal_stamp},
            {"test": "qtcf_ms", "value": 400, "unit": "ms", "at": normal_stamp},
        ],
    }
    keys = []
    for variant in (without, normal, data):
        tasks = evaluate(parse_case(variant), defn).tasks
        keys.append(sorted(t.key for t in tasks if t.safety))
    assert keys[0] == keys[1] == keys[2]
