"""Intake, editing, the patient page and its charts, as a coordinator uses them."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from models.observation import Observation
from models.pathway import CourseCreate
from models.patient import FitnessAssessment, Patient
from models.repositories.audit import Actor
from models.repositories.courses import start_course
from tests.web.support import Web

INTAKE = {
    "mrn": "NEW-0001",
    "display_name": "Greta Intake",
    "birth_date": "1971-02-03",
    "sex_at_birth": "female",
    "lineage": "B",
    "cd19": "positive",
    "cd22": "negative",
    "ph_positive": "no",
    "status": "relapsed",
    "relapse_dates": "2026-10-01",
    "prior_therapies": "hyper_cvad",
    "category": "fit",
    "ecog": "1",
    "hct_eligible": "yes",
    "goal": "cure",
}


def patients(web: Web) -> int:
    with web.db() as session:
        return int(session.execute(select(func.count()).select_from(Patient)).scalar_one())


def error_beside(html: str, field: str) -> str:
    match = re.search(rf'<span class="error" id="err-{field}"[^>]*>([^<]+)</span>', html)
    assert match, f"no error shown beside {field}"
    return match.group(1)


def test_intake_shows_every_bad_field_beside_it_and_writes_nothing(web: Web) -> None:
    client = web.client("coordinator")
    form = INTAKE | {"birth_date": "03/02/1971", "ecog": "one", "cd19": "maybe", "mrn": ""}
    response = client.post("/patients", data=form | {"csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert response.status_code == 422
    html = response.text
    assert error_beside(html, "birth_date") == "must be a date, YYYY-MM-DD"
    assert error_beside(html, "ecog") == "must be a whole number"
    assert error_beside(html, "cd19").startswith("one of")
    assert error_beside(html, "mrn") == "required"
    assert 'value="Greta Intake"' in html  # what was typed is kept
    assert patients(web) == 0


def test_intake_refuses_what_the_case_parser_refuses_beside_the_field(web: Web) -> None:
    client = web.client("coordinator")
    form = INTAKE | {"relapse_dates": "2026-10-01, 2026-09-01"}
    response = client.post("/patients", data=form | {"csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert response.status_code == 422
    assert "oldest first" in error_beside(response.text, "relapse_dates")
    assert patients(web) == 0


def test_intake_creates_the_patient_at_suspected_rr(web: Web) -> None:
    client = web.client("coordinator")
    response = client.post("/patients", data=INTAKE | {"csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Greta Intake" in page.text and "suspected_rr" in page.text
    duplicate = client.post("/patients", data=INTAKE | {"csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert duplicate.status_code == 422
    assert error_beside(duplicate.text, "mrn").startswith(
        "already belongs to Greta Intake (patient "
    )
    assert patients(web) == 1


def test_edit_saves_changed_fields_and_keeps_fitness_history(web: Web) -> None:
    pid = web.patient("Hugo Edit")
    client = web.client("clinician")
    form = client.get(f"/patients/{pid}/edit")
    assert form.status_code == 200 and 'value="Hugo Edit"' in form.text
    bad = client.post(
        f"/patients/{pid}/edit",
        data={"csrf_token": client.csrf, "display_name": "Hugo Edit", "weight_kg": "-3"},  # type: ignore[attr-defined]
    )
    assert bad.status_code == 422 and "0 or more" in error_beside(bad.text, "weight_kg")
    ok = client.post(
        f"/patients/{pid}/edit",
        data={
            "csrf_token": client.csrf,  # type: ignore[attr-defined]
            "display_name": "Hugo Edited",
            "weight_kg": "71.5",
            "cd22": "positive",
            "category": "less_fit",
            "ecog": "2",
            "hct_ci": "3",
            "sppb": "9",
            "hct_eligible": "no",
        },
    )
    assert ok.status_code == 303
    with web.db() as session:
        patient = session.get(Patient, pid)
        fitness = session.execute(select(FitnessAssessment)).scalars().all()
    assert patient is not None and patient.display_name == "Hugo Edited"
    assert patient.weight_kg == 71.5
    assert [f.category.value for f in fitness] == ["less_fit"]
    # FIT-02 instruments are kept with the assessment (QM-04 reads them).
    assert [(f.hct_ci, f.cci, f.sppb) for f in fitness] == [(3, None, 9)]
    form = client.get(f"/patients/{pid}/edit").text
    assert 'name="hct_ci" value="3"' in form and 'name="sppb" value="9"' in form
    bad_sppb = client.post(
        f"/patients/{pid}/edit",
        data={"csrf_token": client.csrf, "display_name": "Hugo Edited", "sppb": "14"},  # type: ignore[attr-defined]
    )
    assert bad_sppb.status_code == 422 and "0 to 12" in error_beside(bad_sppb.text, "sppb")


def test_the_patient_page_shows_courses_tasks_and_lab_charts(web: Web) -> None:
    pid = web.patient("Ines Charts")
    with web.db() as session:
        start_course(
            session,
            patient_id=pid,
            course=CourseCreate(
                regimen="inotuzumab_ozogamicin",
                phase="induction",
                anchor_date=web.clock.today - timedelta(days=7),
            ),
            actor=Actor("clinician1", "clinician", "web"),
        )
    web.task(pid, due_in_days=1, title="LFTs before day 8 dose")
    client = web.client("coordinator")
    # One report typed at once, each value in the unit the report gives (ANC 0.8 x10^3/uL).
    response = client.post(
        f"/patients/{pid}/observations",
        data={
            "csrf_token": client.csrf,  # type: ignore[attr-defined]
            "total_bilirubin": "2.1",
            "total_bilirubin__unit": "mg/dL",
            "alt": "130",
            "alt__unit": "U/L",
            "anc": "0.8",
            "anc__unit": "10*3/uL",
            "observed_on": web.clock.today.isoformat(),
            "observed_time": "08:15",
        },
    )
    assert response.status_code == 303
    bad = client.post(
        f"/patients/{pid}/observations",
        data={"csrf_token": client.csrf, "alt": "x", "observed_on": "soon"},  # type: ignore[attr-defined]
    )
    assert bad.status_code == 422
    assert "must be a number" in error_beside(bad.text, "alt")
    assert "must be a date" in error_beside(bad.text, "observed_on")
    with web.db() as session:
        assert session.execute(select(func.count()).select_from(Observation)).scalar_one() == 3
    page = client.get(f"/patients/{pid}").text
    assert "cycle day 8" in page
    assert "LFTs before day 8 dose" in page and "MON-05" in page
    # Liver tests, white cells (WBC, ANC), platelets, hemoglobin (issue 14 point 8).
    assert page.count('<svg class="chart"') == 4
    assert "bilirubin 1.5×ULN (MON-05, local policy)" in page
    assert "ANC 1,000 /µL: CR (DEF-03)" in page
    assert "Total bilirubin 2.1 × ULN" not in page  # values are shown as multiples of ULN
    assert re.search(r"Total bilirubin 1\.75 × ULN", page)


def test_the_patient_list_searches_names_and_mrns(web: Web) -> None:
    web.patient("Jonas Search", mrn="S-100")
    web.patient("Karla Other", mrn="S-200")
    client = web.client("quality")
    page = client.get("/patients?q=jonas").text
    assert "Jonas Search" in page and "Karla Other" not in page
    assert "S-200" in client.get("/patients?q=s-200").text
