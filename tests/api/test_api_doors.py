"""What schemathesis found at the API's doors, pinned: bounds, non-finite numbers, 405, the document."""

from __future__ import annotations

from sqlalchemy import func, select

from models.observation import Observation
from tests.web.support import Web

PROBLEM = "application/problem+json"


def test_ids_filters_and_offsets_beyond_postgres_integer_are_refused_by_name(web: Web) -> None:
    api = web.api("clinician")
    for path, field in (
        (f"/api/v1/patients/{2**31}", "patient_id"),
        (f"/api/v1/patients/{2**31}/facts", "patient_id"),
        ("/api/v1/patients/0", "patient_id"),
        (f"/api/v1/tasks/{2**40}", "task_id"),
        (f"/api/v1/tasks?patient={2**31}", "patient"),
        (f"/api/v1/patients?offset={2**63}", "offset"),
        (f"/api/v1/tasks?offset={2**31}", "offset"),
    ):
        answer = api.get(path)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"] == PROBLEM and answer.json()["field"] == field
    assert api.get(f"/api/v1/patients/{2**31 - 1}").status_code == 404  # the largest id: no record


def test_numbers_that_are_not_finite_are_refused_naming_each_field(web: Web) -> None:
    pid = web.patient()
    at = web.clock().isoformat()
    body = (
        '{"observations": ['
        f'{{"code": "alt", "value": NaN, "unit": "U/L", "observed_at": "{at}"}},'
        f'{{"code": "ast", "value": 1e999, "unit": "U/L", "observed_at": "{at}"}},'
        f'{{"code": "alp", "value": -Infinity, "unit": "U/L", "observed_at": "{at}"}}]}}'
    )
    answer = web.api("coordinator").post(
        f"/api/v1/patients/{pid}/observations",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM
    fields = [e["field"] for e in answer.json()["errors"]]
    assert fields == ["observations.0.value", "observations.1.value", "observations.2.value"]
    with web.db() as session:
        assert session.execute(select(func.count()).select_from(Observation)).scalar_one() == 0


def test_a_method_a_path_does_not_take_answers_405_naming_all_it_takes(web: Web) -> None:
    answer = web.api("clinician").delete("/api/v1/patients")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"  # both routes of the path, as documented


def test_the_document_states_the_bearer_scheme_and_every_refusal(web: Web) -> None:
    doc = web.client().get("/api/v1/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    problem = {"$ref": "#/components/schemas/Problem"}
    get_patient = doc["paths"]["/api/v1/patients/{patient_id}"]["get"]
    assert set(get_patient["responses"]) == {"200", "401", "403", "404", "422", "429"}
    claim = doc["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422"} <= set(claim)
    assert claim["409"]["content"]["application/problem+json"]["schema"] == problem
    bounds = get_patient["parameters"][0]["schema"]
    assert (bounds["minimum"], bounds["maximum"]) == (1, 2**31 - 1)
