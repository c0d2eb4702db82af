"""Contradicting facts refused by the real server: the API and the browser forms, nothing written.

The real `carepath serve` (tests/acceptance/harness.py). An integrator posts a
case document whose facts contradict each other; a coordinator records a
response marrow saying "no circulating blasts" beside a blood count of 900
blasts/microL. Both get 422 naming every field involved (pathways.consistency),
and the database holds nothing of either attempt.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.acceptance.harness import TODAY, Carepath, User, sign_in
from tests.acceptance.test_intake import INTAKE, add_patient

pytestmark = [pytest.mark.acceptance, pytest.mark.browser]

CASE: dict[str, Any] = {
    "format": "carepath.case/1",
    "as_of": TODAY,
    "timezone": "America/New_York",
    "patient": {"birth_date": "1968-03-14", "sex_at_birth": "female", "has_testes": False},
    "disease": {
        "lineage": "B",
        "cd19": "positive",
        "ph_positive": False,
        "abl1_kinase_mutations": ["T315I"],
        "testicular_involvement": True,
    },
    "history": {"status": "relapsed", "relapse_dates": ["2026-11-16"]},
}


def test_the_api_refuses_a_case_document_that_contradicts_itself(
    server: Carepath, coordinator: User
) -> None:
    with server.api(coordinator) as api:
        answer = api.post(
            "/patients", json={"mrn": "ACC-C1", "display_name": "Contra Api", "case": CASE}
        )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["type"] == "/api/v1/problems/contradictory-facts"
    assert [e["field"] for e in problem["errors"]] == [
        "disease.testicular_involvement",
        "patient.has_testes",
        "disease.abl1_kinase_mutations",
        "disease.ph_positive",
    ]
    assert "no testes" in problem["errors"][0]["message"]
    assert server.rows("SELECT id FROM patient") == []


def test_the_response_form_refuses_no_circulating_blasts_beside_a_count(
    server: Carepath, coordinator: User, page: Any, shots: Any
) -> None:
    sign_in(page, server, coordinator)
    add_patient(page, server, INTAKE | {"mrn": "ACC-C2", "display_name": "Contra Form"})
    assert "/patients/" in page.url, page.inner_text("main")
    pid = int(page.url.split("/patients/")[1].split("?")[0])

    page.click("summary:has-text('Record a response assessment')")
    page.fill("input[name=assessed_on]", TODAY)
    page.fill("input[name=marrow_blast_pct]", "2")
    page.select_option("select[name=trilineage_hematopoiesis]", "yes")
    page.select_option("select[name=circulating_blasts]", "no")
    page.fill("input[name=peripheral_blasts_per_ul]", "900")
    page.fill("input[name=anc_per_ul]", "1500")
    page.fill("input[name=platelets_per_ul]", "150000")
    with page.expect_response(lambda r: r.url.endswith(f"/patients/{pid}/responses")) as sent:
        page.click("button:has-text('Record assessment')")
    assert sent.value.status == 422
    page.wait_for_load_state()
    shots(page, "refused")
    beside_flag = page.inner_text("#err-circulating_blasts")
    beside_count = page.inner_text("#err-peripheral_blasts_per_ul")
    assert "900 blasts/microL" in beside_flag and "rules out CR" in beside_count
    assert "Nothing was recorded" in page.inner_text("#record")
    assert server.rows("SELECT id FROM response_assessment WHERE patient_id = :p", p=pid) == []
