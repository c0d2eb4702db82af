"""Contradicting facts at the REST API: one 422 problem naming every field, and nothing written.

Doors: patients from a case document, the facts (PATCH), response
assessments, and transitions signed with a category.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from models.pathway import ResponseAssessmentRecord
from models.patient import DiseaseFacts, Patient
from tests.pathways.factories import case
from tests.web.support import PASSWORD, Web

PROBLEM = "application/problem+json"


def count(web: Web, table: type) -> int:
    with web.db() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def fields(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["field"] for e in response.json()["errors"]]


def test_a_case_document_with_contradictions_is_one_problem_listing_them_all(web: Web) -> None:
    api = web.api("coordinator")
    document = case(
        **{
            "patient.has_testes": False,
            "disease.testicular_involvement": True,
            "disease.abl1_kinase_mutations": ["T315I"],
            "history.prior_allogeneic_hct_date": "2027-01-10",
        }
    )
    response = api.post(
        "/api/v1/patients", json={"mrn": "API-C1", "display_name": "Contra", "case": document}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == "/api/v1/problems/contradictory-facts"
    assert fields(response) == [
        "history.prior_allogeneic_hct_date",
        "as_of",
        "disease.testicular_involvement",
        "patient.has_testes",
        "disease.abl1_kinase_mutations",
        "disease.ph_positive",
    ]
    assert body["detail"].count("\n") == 2  # three contradictions, one line each
    assert count(web, Patient) == 0


def test_patching_facts_into_a_contradiction_is_refused_and_writes_nothing(web: Web) -> None:
    pid = web.patient("Nia Api", ph_positive=True, abl1_kinase_mutations=["E255K"])
    api = web.api("coordinator")
    refused = api.patch(
        f"/api/v1/patients/{pid}/facts",
        json={"patient": {"weight_kg": 70}, "disease": {"ph_positive": False}},
    )
    assert refused.status_code == 422, refused.text
    assert fields(refused) == ["disease.abl1_kinase_mutations", "disease.ph_positive"]
    with web.db() as session:
        patient, disease = session.get(Patient, pid), session.get(DiseaseFacts, pid)
    assert patient is not None and patient.weight_kg is None
    assert disease is not None and disease.ph_positive is True
    fine = api.patch(
        f"/api/v1/patients/{pid}/facts",
        json={"patient": {"weight_kg": 70}, "disease": {"abl1_kinase_mutations": []}},
    )
    assert fine.status_code == 200, fine.text
    assert set(fine.json()["changed"]) == {"weight_kg", "disease.abl1_kinase_mutations"}


def test_a_response_assessment_contradicting_itself_is_refused(web: Web) -> None:
    pid = web.patient("Oto Api")
    api = web.api("coordinator")
    today = web.clock.today.isoformat()
    refused = api.post(
        f"/api/v1/patients/{pid}/response-assessments",
        json={
            "assessed_on": today,
            "marrow_blast_pct": 1.0,
            "circulating_blasts": False,
            "peripheral_blasts_per_ul": 900,
        },
    )
    assert refused.status_code == 422, refused.text
    assert fields(refused) == [
        "response_assessment.circulating_blasts",
        "response_assessment.peripheral_blasts_per_ul",
    ]
    assert count(web, ResponseAssessmentRecord) == 0
    recorded = api.post(
        f"/api/v1/patients/{pid}/response-assessments",
        json={"assessed_on": today, "marrow_blast_pct": 1.0, "circulating_blasts": False},
    )
    assert recorded.status_code == 201, recorded.text
    assert count(web, ResponseAssessmentRecord) == 1


def test_signing_cr_with_a_transition_against_circulating_blasts_is_refused(web: Web) -> None:
    # DEF-03 a: a recorded blood count above zero is never a CR, whoever signs it.
    pid = web.patient("Pia Api")
    with web.db() as session:
        session.add(
            ResponseAssessmentRecord(
                patient_id=pid,
                assessed_on=web.clock.today - timedelta(days=1),
                marrow_blast_pct=2.0,
                peripheral_blasts_per_ul=400.0,
                recorded_by="coordinator1",
            )
        )
    api = web.api("clinician")
    before = count(web, ResponseAssessmentRecord)
    response = api.post(
        f"/api/v1/patients/{pid}/transitions",
        json={
            "event": "remission_to_hct",
            "reason": "signed",
            "signed_response": "CR",
            "signature": {"password": PASSWORD, "attest": True},
        },
    )
    assert response.status_code == 422, response.text
    assert fields(response) == ["signed_response", "response_assessment.peripheral_blasts_per_ul"]
    assert "400 blasts/microL" in response.json()["detail"]
    assert count(web, ResponseAssessmentRecord) == before
