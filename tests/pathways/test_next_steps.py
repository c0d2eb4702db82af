"""POST-01: a transplant-eligible patient in CR or PR shows the HCT referral, after the signed response."""

from __future__ import annotations

from typing import Any

from pathways.definition import shipped_definition
from pathways.engine import evaluate, evaluation_document
from tests.pathways.factories import facts

CR = {
    "date": "2026-11-23",
    "marrow_blast_pct": 1.0,
    "trilineage_hematopoiesis": True,
    "circulating_blasts": False,
    "extramedullary_disease": False,
    "anc_per_ul": 1500,
    "platelets_per_ul": 150000,
    "in_remission_before": False,
    "end_of_induction": True,
}
COURSE = {
    "regimen": "blinatumomab",
    "cycle": 1,
    "cycle_start": "2026-10-12",
    "phase": "induction",
}


def steps(**changes: Any) -> list[dict[str, Any]]:
    base: dict[str, Any] = {
        "fitness.hct_eligible": "yes",
        "response_assessment": CR,
        "treatment": COURSE,
        "disease.cns_status": "negative",
        "disease.testicular_involvement": False,
    }
    document = evaluation_document(evaluate(facts(**(base | changes)), shipped_definition()))
    return list(document["next_steps"])


def post01_tasks(**changes: Any) -> list[dict[str, Any]]:
    base: dict[str, Any] = {"fitness.hct_eligible": "yes", "treatment": COURSE}
    document = evaluation_document(evaluate(facts(**(base | changes)), shipped_definition()))
    return [t for t in document["tasks"] if t["rule_id"] == "POST-01"]


def test_post01_suggested_cr_in_an_eligible_patient_shows_the_referral_after_the_signature() -> (
    None
):
    # rule: POST-01, FIT-06, POST-02, RESP-07
    found = steps()
    assert [s["id"] for s in found] == ["allogeneic_hct_referral"]
    step = found[0]
    assert step["after"] == "the signed response" and step["within_days"] == 7
    assert step["kind"] == "transplant_referral" and step["role"] == "coordinator"
    assert {"POST-01", "FIT-06", "POST-02"} <= set(step["rule_ids"])
    assert "Allogeneic HCT suggested" in step["title"] and "in CR" in step["title"]
    # The dated task is not planned yet: it waits on the signature.
    assert post01_tasks(response_assessment=CR) == []


def test_post01_crh_and_cri_count_and_other_categories_do_not() -> None:
    # rule: POST-01, DEF-04, DEF-05
    assert steps(response_assessment=CR | {"anc_per_ul": 700, "platelets_per_ul": 60000})
    assert steps(response_assessment=CR | {"anc_per_ul": 300, "platelets_per_ul": 20000})
    assert steps(response_assessment=CR | {"marrow_blast_pct": 30.0}) == []


def test_post01_only_for_transplant_eligible_patients_aiming_at_cure() -> None:
    # rule: POST-01, FIT-08 — hct_eligible is clinician-entered; pending is not yes.
    assert steps(**{"fitness.hct_eligible": "no"}) == []
    assert steps(**{"fitness.hct_eligible": "pending"}) == []
    assert steps(goal="symptom_relief") == []


def test_post01_once_signed_cr_or_pr_the_task_itself_is_planned() -> None:
    # rule: POST-01, DEF-09 — partial response is clinician-entered (signed), never computed.
    for category in ("CR", "partial_response"):
        signed = {"category": category, "signed_on": "2026-11-23"}
        assert steps(signed_response=signed) == []
        tasks = post01_tasks(signed_response=signed)
        assert [(t["window_start"], t["window_end"]) for t in tasks] == [
            ("2026-11-23", "2026-11-30")
        ]
