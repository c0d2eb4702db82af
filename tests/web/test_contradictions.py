"""Facts that contradict each other are refused at the web forms: 422, every field named, nothing written.

The checks live in ``pathways.consistency``; these tests drive the real forms
(intake, edit, record an assessment, sign, confirm a transition) through the
web test client, as a coordinator or clinician would.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models.pathway import ResponseAssessmentRecord
from models.patient import DiseaseFacts, Patient
from tests.web.support import PASSWORD, Web
from tests.web.test_patients import INTAKE


def errors_beside(html: str) -> dict[str, str]:
    return dict(re.findall(r'<span class="error" id="err-([a-z_0-9]+)"[^>]*>([^<]+)</span>', html))


def count(web: Web, table: type) -> int:
    with web.db() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_intake_refuses_every_contradiction_at_once_beside_its_fields(web: Web) -> None:
    client = web.client("coordinator")
    form = INTAKE | {
        "sex_at_birth": "female",
        "has_testes": "no",
        "testicular_involvement": "yes",
        "ph_positive": "no",
        "abl1_kinase_mutations": "T315I",
        "prior_allogeneic_hct_date": "2027-03-01",
    }
    response = client.post("/patients", data=form | {"csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert response.status_code == 422
    shown = errors_beside(response.text)
    assert "no testes" in shown["has_testes"] and "no testes" in shown["testicular_involvement"]
    assert "Ph-negative" in shown["ph_positive"]
    assert "Ph-negative" in shown["abl1_kinase_mutations"]
    assert "cannot be in the future" in shown["prior_allogeneic_hct_date"]
    assert "Nothing was saved" in response.text
    assert count(web, Patient) == 0


def test_an_edit_that_contradicts_stored_facts_keeps_nothing(web: Web) -> None:
    pid = web.patient("Iris Edit", ph_positive=True, abl1_kinase_mutations=["T315I"])
    client = web.client("clinician")
    response = client.post(
        f"/patients/{pid}/edit",
        data={
            "csrf_token": client.csrf,  # type: ignore[attr-defined]
            "display_name": "Iris Renamed",
            "weight_kg": "64",
            "ph_positive": "no",
        },
    )
    assert response.status_code == 422
    assert "T315I" in errors_beside(response.text)["ph_positive"]
    with web.db() as session:
        patient = session.get(Patient, pid)
        disease = session.get(DiseaseFacts, pid)
    # The whole edit is rolled back, the fields that fitted included.
    assert patient is not None and patient.display_name == "Iris Edit" and patient.weight_kg is None
    assert disease is not None and disease.ph_positive is True


def test_an_edit_recording_testicular_involvement_without_testes_is_refused(web: Web) -> None:
    pid = web.patient("Jo Edit")
    client = web.client("clinician")
    response = client.post(
        f"/patients/{pid}/edit",
        data={
            "csrf_token": client.csrf,  # type: ignore[attr-defined]
            "display_name": "Jo Edit",
            "has_testes": "no",
            "testicular_involvement": "yes",
        },
    )
    assert response.status_code == 422
    shown = errors_beside(response.text)
    assert set(shown) >= {"has_testes", "testicular_involvement"}
    with web.db() as session:
        disease = session.get(DiseaseFacts, pid)
    assert disease is not None and disease.testicular_involvement is None


def test_recording_no_circulating_blasts_beside_a_count_is_refused(web: Web) -> None:
    pid = web.patient("Kai Marrow")
    client = web.client("coordinator")
    response = client.post(
        f"/patients/{pid}/responses",
        data={
            "csrf_token": client.csrf,  # type: ignore[attr-defined]
            "assessed_on": web.clock.today.isoformat(),
            "marrow_blast_pct": "2",
            "trilineage_hematopoiesis": "yes",
            "circulating_blasts": "no",
            "peripheral_blasts_per_ul": "900",
            "anc_per_ul": "1500",
            "platelets_per_ul": "150000",
        },
    )
    assert response.status_code == 422
    shown = errors_beside(response.text)
    assert "900 blasts/microL" in shown["circulating_blasts"]
    assert "rules out CR" in shown["peripheral_blasts_per_ul"]
    assert count(web, ResponseAssessmentRecord) == 0


def test_a_testicular_site_for_a_patient_without_testes_is_refused(web: Web) -> None:
    pid = web.patient("Lou Marrow")
    with web.db() as session:
        patient = session.get(Patient, pid)
        assert patient is not None
        patient.has_testes = False
        session.add(patient)
    client = web.client("coordinator")
    response = client.post(
        f"/patients/{pid}/responses",
        data={
            "csrf_token": client.csrf,  # type: ignore[attr-defined]
            "assessed_on": web.clock.today.isoformat(),
            "marrow_blast_pct": "3",
            "extramedullary_sites": "testis",
        },
    )
    assert response.status_code == 422
    assert "no testes" in errors_beside(response.text)["extramedullary_sites"]
    assert count(web, ResponseAssessmentRecord) == 0


def test_signing_cr_on_an_assessment_with_circulating_blasts_is_refused(web: Web) -> None:
    pid = web.patient("Max Sign")
    rid = web.assessment(
        pid,
        marrow_blast_pct=2.0,
        trilineage_hematopoiesis=True,
        circulating_blasts=True,
        extramedullary_sites=[],
        anc_per_ul=1500.0,
        platelets_per_ul=150000.0,
    )
    clinician = web.client("clinician")
    response = clinician.post(
        f"/patients/{pid}/responses/{rid}/sign",
        data={
            "csrf_token": clinician.csrf,  # type: ignore[attr-defined]
            "category": "CR",
            "reason": "reviewed",
            "attest": "yes",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 422
    assert "CR needs no circulating blasts" in errors_beside(response.text)["category"]
    with web.db() as session:
        stored = session.get(ResponseAssessmentRecord, rid)
    assert stored is not None and stored.signed_at is None
