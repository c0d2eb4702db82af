"""Plausible patients at the web and API doors: every problem at once, in plain words.

Body limits and the age gate are [DEFAULT]s of the definition
(pathways/patient_limits.py). No rule covers adolescents; the alert cites the
seed's age-bound statements (NEL-01, NEL-02, AMB-15).
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models.patient import Patient
from models.task import ClinicalAlert
from pathways.vocab import Severity
from tests.pathways.factories import case
from tests.web.support import Web
from tests.web.test_patients import INTAKE, error_beside

PROBLEM = "application/problem+json"
INTERNAL = ("as_of", "Input should", "Value error", "pydantic", "e+0")


def patients(web: Web) -> int:
    with web.db() as session:
        return int(session.execute(select(func.count()).select_from(Patient)).scalar_one())


def post_intake(web: Web, **changes: str):  # type: ignore[no-untyped-def]
    client = web.client("coordinator")
    return client.post("/patients", data=INTAKE | changes | {"csrf_token": client.csrf})  # type: ignore[attr-defined]


def test_every_bad_field_is_shown_beside_it_at_once(web: Web) -> None:
    response = post_intake(
        web,
        display_name="<b>Greta</b>",
        birth_date="2020-05-01",
        weight_kg="0.4",
        height_cm="16",
        relapse_dates="2027-01-01",
        ecog="one",
    )
    assert response.status_code == 422
    html = response.text
    assert error_beside(html, "display_name") == (
        "must be a name, without markup such as &lt; &gt; or &amp;…; codes"
    )
    assert error_beside(html, "birth_date") == (
        "gives an age of 6: this pathway is for adults (18 years and over) and does not accept "
        "a patient under 12"
    )
    assert error_beside(html, "weight_kg").startswith("0.4 kg is not plausible for an adult")
    assert error_beside(html, "height_cm").startswith("16 cm is not plausible for an adult")
    assert error_beside(html, "relapse_dates") == "is in the future (after 2026-11-24)"
    assert error_beside(html, "ecog") == "must be a whole number"
    assert "6 fields need attention" in html
    for word in INTERNAL:
        assert word not in html
    assert patients(web) == 0


def test_350_kg_at_120_cm_is_refused(web: Web) -> None:
    response = post_intake(web, weight_kg="350", height_cm="120")
    assert response.status_code == 422
    assert error_beside(response.text, "weight_kg") == (
        "350 kg is not plausible for an adult: it must be between 20 and 300 kg (is it in "
        "kilograms?)"
    )
    assert patients(web) == 0


def test_the_mrn_is_normalised_and_unique_whatever_its_case(web: Web) -> None:
    created = post_intake(web, mrn="  new-0001 ")
    assert created.status_code == 303, created.text
    with web.db() as session:
        assert session.execute(select(Patient.mrn)).scalar_one() == "NEW-0001"
    duplicate = post_intake(web, mrn="New-0001", display_name="Other Person")
    assert duplicate.status_code == 422
    pid = created.headers["location"].split("/")[2].split("?")[0]
    assert error_beside(duplicate.text, "mrn") == (
        f"already belongs to Greta Intake (patient {pid}): open that record instead of adding "
        "the patient again"
    )
    assert patients(web) == 1


def test_an_adolescent_needs_the_confirmation_then_carries_a_critical_alert(web: Web) -> None:
    teen = {"birth_date": "2011-03-01"}  # 15 on 2026-11-24
    refused = post_intake(web, **teen)
    assert refused.status_code == 422
    assert error_beside(refused.text, "adolescent_confirmed") == (
        "the patient is 15, under 18: this pathway is for adults; confirm that this adolescent "
        "is to be followed here (a clinician is alerted to review)"
    )
    assert patients(web) == 0
    created = post_intake(web, **teen, adolescent_confirmed="yes")
    assert created.status_code == 303, created.text
    with web.db() as session:
        alert = session.execute(select(ClinicalAlert)).scalar_one()
    assert alert.severity is Severity.CRITICAL and alert.acknowledged_at is None
    assert alert.code == "adolescent_in_adult_pathway" and alert.rule_id == "data-quality"
    assert "NEL-01" in alert.message and alert.inputs["age_years"] == 15
    clinician = web.client("clinician")
    assert "Adolescent in an adult pathway" in clinician.get("/queue").text
    page = clinician.get(f"/patients/{alert.patient_id}").text
    assert "Adolescent in an adult pathway: 15 years old at enrolment" in page
    done = clinician.post(
        f"/patients/{alert.patient_id}/alerts/{alert.id}/acknowledge",
        data={"csrf_token": clinician.csrf, "reason": "paediatric team agrees"},  # type: ignore[attr-defined]
    )
    assert done.status_code == 303
    with web.db() as session:
        assert session.get(ClinicalAlert, alert.id).acknowledged_by is not None  # type: ignore[union-attr]


def test_an_adult_carries_no_alert(web: Web) -> None:
    assert post_intake(web, adolescent_confirmed="yes").status_code == 303
    with web.db() as session:
        assert session.execute(select(func.count()).select_from(ClinicalAlert)).scalar_one() == 0


def test_an_edit_is_held_to_the_same_limits_every_field_at_once(web: Web) -> None:
    pid = web.patient("Edna Edit")
    client = web.client("coordinator")
    form = {"display_name": "Edna <i>Edit</i>", "weight_kg": "0.4", "height_cm": "16", "ecog": "7",
            "category": "fit", "csrf_token": client.csrf}  # type: ignore[attr-defined]  # fmt: skip
    response = client.post(f"/patients/{pid}/edit", data=form)
    assert response.status_code == 422
    html = response.text
    assert error_beside(html, "display_name").startswith("must be a name, without markup")
    assert error_beside(html, "weight_kg").startswith("0.4 kg is not plausible")
    assert error_beside(html, "height_cm").startswith("16 cm is not plausible")
    assert error_beside(html, "ecog") == "must be 0 to 5"
    with web.db() as session:
        row = session.get(Patient, pid)
        assert row is not None and row.display_name == "Edna Edit" and row.weight_kg is None


def test_search_matches_percent_and_underscore_literally(web: Web) -> None:
    web.patient("Anna 100% Test")
    web.patient("Anna 1000 Test")
    web.patient("Bo_b Test")
    web.patient("Boxb Test")
    client = web.client("coordinator")

    def found(q: str) -> set[str]:
        page = client.get("/patients", params={"q": q}).text
        return set(re.findall(r"(Anna 100% Test|Anna 1000 Test|Bo_b Test|Boxb Test)", page))

    assert found("100%") == {"Anna 100% Test"}
    assert found("o_b") == {"Bo_b Test"}
    assert found("\\") == set()
    assert found("test") == {"Anna 100% Test", "Anna 1000 Test", "Bo_b Test", "Boxb Test"}


def test_the_api_lists_every_problem_with_its_field_and_a_plain_message(web: Web) -> None:
    api = web.api("coordinator")
    document = case(**{"patient.birth_date": "2020-05-01", "patient.weight_kg": 0.4,
                       "patient.height_cm": 16, "disease.cd22": "weak"})  # fmt: skip
    response = api.post(
        "/api/v1/patients", json={"mrn": "bad mrn!", "display_name": "<x>", "case": document}
    )
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {
        "mrn", "display_name", "case.disease.cd22", "case.patient.weight_kg",
        "case.patient.height_cm", "case.patient.birth_date",
    }  # fmt: skip
    assert errors["case.disease.cd22"] == "must be 'positive' or 'negative'"
    assert "this pathway is for adults" in errors["case.patient.birth_date"]
    for word in INTERNAL:
        assert word not in response.text
    assert patients(web) == 0


def test_the_api_confirms_an_adolescent_in_the_case_and_refuses_a_duplicate_mrn(web: Web) -> None:
    api = web.api("coordinator")
    teen = case(**{"patient.birth_date": "2011-03-01"})
    unconfirmed = api.post(
        "/api/v1/patients", json={"mrn": "t-1", "display_name": "Teen", "case": teen}
    )
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["field"] == "case.patient.adolescent_confirmed"
    teen["patient"]["adolescent_confirmed"] = True
    created = api.post(
        "/api/v1/patients", json={"mrn": "t-1", "display_name": "Teen", "case": teen}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["mrn"] == "T-1"
    alerts = api.get(f"/api/v1/patients/{body['id']}/evaluation").json()["open_alerts"]
    assert [(a["code"], a["severity"]) for a in alerts] == [
        ("adolescent_in_adult_pathway", "critical")
    ]
    again = api.post("/api/v1/patients", json={"mrn": " T-1", "display_name": "X", "case": case()})
    assert again.status_code == 409
    assert again.json()["errors"] == [
        {
            "field": "mrn",
            "message": f"already belongs to Teen (patient {body['id']}): open that record "
            "instead of adding the patient again",
        }
    ]
    assert patients(web) == 1
