"""REST API v1 as an integration uses it: OpenAPI, problem documents, patients, labs, tasks, transitions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from models.observation import Observation
from models.patient import Patient
from models.task import CareTask
from pathways.vocab import TaskStatus
from tests.pathways.factories import case
from tests.web.support import Web

PROBLEM = "application/problem+json"


def count(web: Web, table: type) -> int:
    with web.db() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_the_openapi_document_lists_the_api(web: Web) -> None:
    doc = web.client().get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    for path in (
        "/api/v1/patients",
        "/api/v1/patients/{patient_id}/facts",
        "/api/v1/patients/{patient_id}/observations",
        "/api/v1/patients/{patient_id}/evaluation",
        "/api/v1/patients/{patient_id}/transitions",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}/claim",
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/tasks/{task_id}/cancel",
    ):
        assert path in paths, path
    assert not any(p.startswith("/patients") or p == "/queue" for p in paths)


def test_create_a_patient_from_a_case_document(web: Web) -> None:
    api = web.api("coordinator")
    response = api.post(
        "/api/v1/patients",
        json={"mrn": "API-1", "display_name": "Api Person", "case": case()},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["phase"] == "suspected_rr" and body["events"][0]["event"] == "enrol"
    facts = api.get(f"/api/v1/patients/{body['id']}/facts").json()
    assert facts["facts"]["disease"]["lineage"] == "B"


def test_a_bad_case_document_is_a_problem_naming_the_field_and_writes_nothing(web: Web) -> None:
    api = web.api("coordinator")
    document = case()
    document["patient"]["birth_date"] = "yesterday"
    response = api.post(
        "/api/v1/patients", json={"mrn": "API-2", "display_name": "X", "case": document}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["field"] == "case.patient.birth_date"
    assert problem["status"] == 422 and problem["type"].startswith("/api/v1/problems/")
    assert count(web, Patient) == 0


def test_lab_results_are_validated_as_a_whole(web: Web) -> None:
    pid = web.patient()
    api = web.api("coordinator")
    at = web.clock().isoformat()
    bad = api.post(
        f"/api/v1/patients/{pid}/observations",
        json={
            "observations": [
                {"code": "alt", "value": 80, "unit": "U/L", "observed_at": at},
                {"code": "total_bilirubin", "value": 2, "unit": "mmol/s", "observed_at": at},
            ]
        },
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "observations[1].unit"
    assert count(web, Observation) == 0
    naive = api.post(
        f"/api/v1/patients/{pid}/observations",
        json={
            "observations": [
                {"code": "alt", "value": 80, "unit": "U/L", "observed_at": "2026-11-24T08:00:00"}
            ]
        },
    )
    assert naive.status_code == 422 and naive.json()["field"] == "observations[0].observed_at"
    ok = api.post(
        f"/api/v1/patients/{pid}/observations",
        json={
            "observations": [
                {"code": "alt", "value": 80, "unit": "U/L", "uln": 40, "observed_at": at},
                {"code": "total_bilirubin", "value": 2, "unit": "mg/dL", "observed_at": at},
            ]
        },
    )
    assert ok.status_code == 201 and len(ok.json()) == 2
    listed = api.get(f"/api/v1/patients/{pid}/observations?code=alt").json()
    assert [o["code"] for o in listed] == ["alt"]
    missing = api.post(
        "/api/v1/patients/9999/observations",
        json={"observations": [{"code": "alt", "value": 80, "unit": "U/L", "observed_at": at}]},
    )
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM


def post_one(api: Any, pid: int, **observation: Any) -> Any:
    return api.post(
        f"/api/v1/patients/{pid}/observations",
        content=json.dumps({"observations": [observation]}),  # NaN and Infinity as JSON allows
        headers={"content-type": "application/json"},
    )


@pytest.mark.parametrize(
    ("observation", "field", "problem"),
    [
        # NaN and the infinities are refused by the input guard before the catalogue sees them
        ({"value": float("nan")}, "value", "finite number"),
        ({"value": float("inf")}, "value", "finite number"),
        ({"value": float("-inf")}, "value", "finite number"),
        (
            {"value": 1e308},
            "value",
            "This value is not plausible for potassium (at most 15 mmol/L)",
        ),
        ({"value": -3.1}, "value", "cannot be negative"),
        ({"value": 3.9, "unit": "mg/dL"}, "unit", "is not a unit of potassium"),
        ({"code": "sodium"}, "test", "is not a test the tracker knows"),
        ({"uln": float("nan")}, "uln", "finite number"),
        ({"observed_at": "1899-06-01T08:00:00-05:00"}, "observed_at", "is before 1900"),
        ({"observed_at": "2026-11-24T15:00:00-05:00"}, "observed_at", "is in the future"),
    ],
)
def test_every_bad_lab_value_is_refused_with_422_naming_the_field_and_nothing_is_stored(
    web: Web, observation: dict[str, Any], field: str, problem: str
) -> None:
    # rule: REV-06, MON-13 — potassium through the API door: NaN, infinities, absurd, negative...
    pid = web.patient()
    api = web.api("coordinator")
    body = {
        "code": "potassium",
        "value": 3.9,
        "unit": "mmol/L",
        "observed_at": web.clock().isoformat(),
    }
    response = post_one(api, pid, **(body | observation))
    assert response.status_code == 422, response.text
    # (the input guard names a field observations.0.value, the catalogue observations[0].value)
    found = {e["field"].replace(".0.", "[0]."): e["message"] for e in response.json()["errors"]}
    assert problem in found[f"observations[0].{field}"]
    assert "e+" not in response.text
    assert count(web, Observation) == 0


def test_an_api_value_is_converted_to_the_canonical_unit_and_keeps_what_was_sent(web: Web) -> None:
    # rule: DEF-03 — platelets 45 x10^9/L = 45,000/uL; a LOINC code names the test as well
    pid = web.patient()
    api = web.api("coordinator")
    at = web.clock().isoformat()
    response = api.post(
        f"/api/v1/patients/{pid}/observations",
        json={
            "observations": [
                {"code": "777-3", "value": 45, "unit": "10^9/L", "observed_at": at},
                {"code": "total_bilirubin", "value": 54.7, "unit": "µmol/L", "observed_at": at},
            ]
        },
    )
    assert response.status_code == 201, response.text
    platelets, bilirubin = response.json()
    assert (platelets["code"], platelets["value"], platelets["unit"]) == (
        "platelets",
        45000.0,
        "/uL",
    )
    assert (platelets["entered_value"], platelets["entered_unit"]) == (45.0, "10*9/L")
    assert bilirubin["unit"] == "mg/dL" and round(bilirubin["value"], 2) == 3.2
    listed = api.get("/api/v1/labs").json()
    bili = next(t for t in listed["tests"] if t["code"] == "total_bilirubin")
    assert bili["loinc"] == "1975-2" and bili["unit"] == "mg/dL"
    assert {"code": "umol/L", "label": "µmol/L"} in bili["units"]
    assert bili["uln"] == {
        "value": 1.2,
        "source": "local reference range",
        "setting": "lab_reference_uln",
    }


def test_the_task_list_claim_complete_and_cancel(web: Web) -> None:
    pid = web.patient("Tia Tasks")
    first = web.task(pid, due_in_days=-1)
    second = web.task(pid, due_in_days=-1)
    web.task(pid, due_in_days=2)
    api = web.api("coordinator")
    listing = api.get("/api/v1/tasks?bucket=overdue").json()
    assert listing["counts"] == {"limit": 1000, "overdue": 2, "today": 0, "upcoming": 1, "mine": 0}
    assert [t["id"] for t in listing["items"]] == [first, second]
    assert listing["items"][0]["patient_name"] == "Tia Tasks"
    assert listing["items"][0]["rule_id"] == "MON-05"
    not_mine = api.post(f"/api/v1/tasks/{first}/complete", json={"result": {}})
    assert not_mine.status_code == 409
    assert api.post(f"/api/v1/tasks/{first}/claim").json()["status"] == "accepted"
    incomplete = api.post(f"/api/v1/tasks/{first}/complete", json={"result": {"alt": 40}})
    assert incomplete.status_code == 422
    assert {e["field"] for e in incomplete.json()["errors"]} == {"ast", "total_bilirubin", "alp"}
    done = api.post(
        f"/api/v1/tasks/{first}/complete",
        json={"result": {"alt": 40, "ast": 38, "total_bilirubin": 0.8, "alp": 100}},
    )
    assert done.status_code == 200 and done.json()["status"] == "completed"
    no_reason = api.post(f"/api/v1/tasks/{second}/cancel", json={"reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    cancelled = api.post(
        f"/api/v1/tasks/{second}/cancel",
        json={"reason": "regimen changed", "outcome": "cancelled"},
    )
    assert cancelled.json()["status"] == "cancelled"
    mine = api.get("/api/v1/tasks?bucket=mine").json()
    assert mine["counts"]["mine"] == 0
    with web.db() as session:
        assert session.get(CareTask, second).status == TaskStatus.CANCELLED  # type: ignore[union-attr]
    assert api.get("/api/v1/tasks?bucket=sometime").status_code == 422


def test_the_task_list_finds_a_patient_by_name_or_mrn(web: Web) -> None:
    zoe, abe = web.patient("Zoe Search", mrn="MRN-777"), web.patient("Abe 100%", mrn="MRN-888")
    zt = web.task(zoe, due_in_days=-1)
    at = web.task(abe, due_in_days=-1)
    web.task(abe, due_in_days=2)
    api = web.api("coordinator")

    def listed(**params: str) -> tuple[list[int], dict[str, int]]:
        body = api.get("/api/v1/tasks", params=params).json()
        return [t["id"] for t in body["items"]], body["counts"]

    assert listed(q="mrn-777") == (
        [zt],
        {"limit": 1000, "overdue": 1, "today": 0, "upcoming": 0, "mine": 0},
    )
    assert listed(q="ABE")[0] == [at] and listed(q="ABE")[1]["upcoming"] == 1
    assert listed(q="100%")[0] == [at] and listed(q="%")[0] == [at]  # % as typed, no wildcard
    assert listed()[0] == [zt, at]
    too_long = api.get("/api/v1/tasks", params={"q": "x" * 81})
    assert too_long.status_code == 422 and too_long.json()["field"] == "q", too_long.text


def test_transitions_through_the_api(web: Web) -> None:
    pid = web.patient()
    coordinator = web.api("coordinator")
    body = {"event": "document_rr_diagnosis", "reason": "marrow reviewed"}
    assert coordinator.post(f"/api/v1/patients/{pid}/transitions", json=body).status_code == 403
    clinician = web.api("clinician")
    refused = clinician.post(
        f"/api/v1/patients/{pid}/transitions", json={"event": "start_induction", "reason": "x"}
    )
    assert refused.status_code == 409
    assert refused.json()["type"] == "/api/v1/problems/transition-not-allowed"
    unknown = clinician.post(
        f"/api/v1/patients/{pid}/transitions", json={"event": "teleport", "reason": "x"}
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "event"
    ok = clinician.post(f"/api/v1/patients/{pid}/transitions", json=body)
    assert ok.status_code == 201 and ok.json()["to_state"] == "workup"
    events = clinician.get(f"/api/v1/patients/{pid}/transitions").json()
    assert [e["event"] for e in events] == ["enrol", "document_rr_diagnosis"]


def test_the_evaluation_lists_what_a_clinician_may_confirm(web: Web) -> None:
    pid = web.patient()
    web.task(pid)
    evaluation = web.api("quality").get(f"/api/v1/patients/{pid}/evaluation")
    assert evaluation.status_code == 200, evaluation.text
    body = evaluation.json()
    assert body["phase"] == "suspected_rr"
    assert any(e["event"] == "document_rr_diagnosis" for e in body["allowed_events"])
    assert len(body["open_tasks"]) == 1 and body["induction_advice"] is None
