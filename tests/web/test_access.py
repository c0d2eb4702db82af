"""Who may do what: every route by every role, walked against the app itself.

The expected matrix is written out here, independently of the code. The list
of routes comes from the app, so a route added without a row below fails
``test_every_route_has_a_row_in_the_matrix``, and a route without an access
rule stops the app from being built at all.
"""

from __future__ import annotations

import re

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import iter_route_contexts

from carepath.web.deps import check_every_route_has_a_rule, route_rules
from pathways.vocab import Role
from tests.web.support import PASSWORD, ROLES, Web

C, K, Q, A = "coordinator", "clinician", "quality", "admin"
STAFF = {C, K, Q, A}
TEAM = {C, K}
READ = {C, K, Q}
PUBLIC = "public"

MATRIX: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("POST", "/logout"): STAFF,
    ("GET", "/"): STAFF,
    ("GET", "/queue"): TEAM,
    ("POST", "/queue/claim-next"): TEAM,
    ("GET", "/tasks/{task_id}"): TEAM,
    ("POST", "/tasks/{task_id}/claim"): TEAM,
    ("POST", "/tasks/{task_id}/complete"): TEAM,
    ("POST", "/tasks/{task_id}/skip"): TEAM,
    ("POST", "/tasks/{task_id}/cancel"): TEAM,
    ("POST", "/tasks/{task_id}/release"): TEAM,
    ("POST", "/tasks/{task_id}/reassign"): TEAM,
    ("POST", "/tasks/{task_id}/take-over"): TEAM,
    ("POST", "/handovers/{handover_id}/seen"): TEAM,
    ("POST", "/queue/bulk"): TEAM,
    ("GET", "/queue/week"): TEAM,
    ("GET", "/queue/live.json"): TEAM,
    ("POST", "/queue/alerts/acknowledge"): {K},
    ("POST", "/tasks/{task_id}/comments"): TEAM,
    ("GET", "/rules/{rule_id}"): STAFF,
    ("GET", "/patients"): READ,
    ("GET", "/patients/new"): TEAM,
    ("POST", "/patients"): TEAM,
    ("GET", "/patients/{patient_id}"): READ,
    ("GET", "/patients/{patient_id}/edit"): TEAM,
    ("POST", "/patients/{patient_id}/edit"): TEAM,
    ("POST", "/patients/{patient_id}/observations"): TEAM,
    ("POST", "/patients/{patient_id}/responses"): TEAM,
    ("POST", "/patients/{patient_id}/responses/{assessment_id}/sign"): {K},
    ("POST", "/patients/{patient_id}/responses/{assessment_id}/amend"): {K},
    ("POST", "/patients/{patient_id}/transitions"): {K},
    ("POST", "/patients/{patient_id}/alerts/{alert_id}/acknowledge"): {K},
    ("GET", "/adherence"): {Q, K, A},
    ("GET", "/adherence/export"): {Q, K, A},
    ("GET", "/adherence/{indicator_id}"): {Q, K, A},
    ("GET", "/audit"): {Q, A},
    ("GET", "/admin/users"): {A},
    ("POST", "/admin/users"): {A},
    ("POST", "/admin/tokens"): {A},
    ("GET", "/admin/tokens/issued/{token_id}"): {A},
    ("POST", "/admin/tokens/{token_id}/revoke"): {A},
    ("POST", "/admin/users/{username}/deactivate"): {A},
    ("POST", "/admin/users/{username}/reactivate"): {A},
    ("POST", "/admin/users/{username}/role"): {A},
    ("POST", "/admin/users/{username}/password"): {A},
    ("GET", "/account/password"): STAFF,
    ("POST", "/account/password"): STAFF,
    ("GET", "/account/tokens"): STAFF,
    ("POST", "/account/tokens"): READ,
    ("GET", "/account/tokens/issued/{token_id}"): READ,
    ("POST", "/account/tokens/{token_id}/revoke"): STAFF,
    ("GET", "/api/v1/patients"): READ,
    ("POST", "/api/v1/patients"): TEAM,
    ("GET", "/api/v1/patients/{patient_id}"): READ,
    ("GET", "/api/v1/patients/{patient_id}/facts"): READ,
    ("GET", "/api/v1/patients/{patient_id}/observations"): READ,
    ("GET", "/api/v1/labs"): READ,
    ("POST", "/api/v1/patients/{patient_id}/observations"): TEAM,
    ("PATCH", "/api/v1/patients/{patient_id}/facts"): TEAM,
    ("POST", "/api/v1/patients/{patient_id}/response-assessments"): TEAM,
    ("GET", "/api/v1/patients/{patient_id}/evaluation"): READ,
    ("GET", "/api/v1/patients/{patient_id}/transitions"): READ,
    ("POST", "/api/v1/patients/{patient_id}/transitions"): {K},
    ("GET", "/api/v1/tasks"): TEAM,
    ("POST", "/api/v1/tasks/claim-next"): TEAM,
    ("GET", "/api/v1/tasks/{task_id:int}"): TEAM,  # :int, so claim-next is no task id
    ("POST", "/api/v1/tasks/{task_id}/claim"): TEAM,
    ("POST", "/api/v1/tasks/{task_id}/take-over"): TEAM,
    ("POST", "/api/v1/tasks/{task_id}/complete"): TEAM,
    ("POST", "/api/v1/tasks/{task_id}/cancel"): TEAM,
    ("POST", "/api/v1/tasks/{task_id}/release"): TEAM,
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        if context.path is None:
            continue
        for method in context.methods or {"GET"}:
            if method != "HEAD":
                found.add((method, context.path))
    return found


def test_every_route_has_a_row_in_the_matrix(web: Web) -> None:
    routes = app_routes(web.app)
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, f"routes without an expected access rule in this test: {missing}"
    assert not stale, f"rows for routes that no longer exist: {stale}"


def test_declared_rules_match_the_matrix(web: Web) -> None:
    for (method, path), rule in route_rules(web.app.routes).items():
        expected = MATRIX[(method, path)]
        if expected == PUBLIC:
            assert rule == PUBLIC, (method, path)
        else:
            assert rule != PUBLIC and {r.value for r in rule} == expected, (method, path, rule)


def test_an_app_with_a_route_without_a_rule_is_refused() -> None:
    app = FastAPI()

    @app.get("/leak", dependencies=[Depends(lambda: None)])
    def leak() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="GET /leak"):
        check_every_route_has_a_rule(app.routes)


def _url(path: str, ids: dict[str, int | str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(ids[m.group(1)]), path)


@pytest.mark.parametrize("role", [r.value for r in ROLES])
def test_every_route_answers_each_role_as_the_matrix_says(web: Web, role: str) -> None:
    """Denied roles get 403 (403 problem on the API) and change nothing; allowed ones are let in."""
    pid = web.patient()
    ids: dict[str, int | str] = {
        "indicator_id": "QM-13",
        "patient_id": pid,
        # The task sits in the role's own queue, so a refusal can only come from the route rule.
        "task_id": web.task(pid, role=Role(role) if role in TEAM else Role.COORDINATOR),
        "alert_id": web.alert(pid),
        "assessment_id": 1,
        "token_id": 999,  # no one's: token 1 is this role's own, which the walk must not revoke
        "handover_id": 1,
        "username": "nobody",
        "rule_id": "INO-05",
    }
    web_client = web.client(role)
    api_client = web.api(role)
    # Signing out ends the session, so it is walked last.
    for (method, path), expected in sorted(MATRIX.items(), key=lambda kv: kv[0][1] == "/logout"):
        if expected == PUBLIC or path in ("/static",):
            continue
        is_api = path.startswith("/api/")
        client = api_client if is_api else web_client
        url = _url(path, ids)
        if method == "GET":
            response = client.get(url)
        elif is_api:
            response = client.request(method, url, json={})
        else:
            response = client.post(url, data={"csrf_token": web_client.csrf})  # type: ignore[attr-defined]
        allowed = role in expected
        if allowed:
            assert response.status_code not in (401, 403), (role, method, path, response.text[:300])
            assert response.status_code < 500, (role, method, path, response.text[:300])
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)
            if is_api:
                assert response.headers["content-type"].startswith("application/problem+json")


def test_without_a_session_pages_send_to_sign_in_and_the_api_answers_401(web: Web) -> None:
    anonymous = web.client()
    for (method, path), expected in MATRIX.items():
        if expected == PUBLIC:
            continue
        url = _url(
            path,
            {
                "patient_id": 1,
                "task_id": 1,
                "alert_id": 1,
                "assessment_id": 1,
                "indicator_id": "QM-01",
                "token_id": 1,
                "handover_id": 1,
                "username": "nobody",
                "rule_id": "INO-05",
            },
        )
        response = anonymous.request(method, url)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
            assert response.json()["status"] == 401
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login")


def test_a_form_without_the_session_csrf_token_is_refused_and_writes_nothing(web: Web) -> None:
    pid = web.patient()
    tid = web.task(pid)
    client = web.client("coordinator")
    assert client.post(f"/tasks/{tid}/claim").status_code == 403
    assert client.post(f"/tasks/{tid}/claim", data={"csrf_token": "forged"}).status_code == 403
    with web.db() as session:
        from models.task import CareTask

        assert session.get(CareTask, tid).owner is None  # type: ignore[union-attr]
    ok = client.post(f"/tasks/{tid}/claim", data={"csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert ok.status_code == 303


def test_one_patients_data_is_not_reachable_through_anothers_url(web: Web) -> None:
    """Nested ids are checked against the patient in the URL: guessing gives 404 and no change."""
    from models.task import ClinicalAlert

    alice, bob = web.patient("Alice Alpha"), web.patient("Bob Beta")
    bob_alert = web.alert(bob)
    clinician = web.client("clinician")
    csrf = clinician.csrf  # type: ignore[attr-defined]
    with web.db() as session:
        from models.pathway import ResponseAssessmentRecord

        bob_assessment = ResponseAssessmentRecord(
            patient_id=bob,
            assessed_on=web.clock.today,
            marrow_blast_pct=2,
            trilineage_hematopoiesis=True,
            recorded_by="t",
        )
        session.add(bob_assessment)
        session.flush()
        bob_rid = bob_assessment.id
    response = clinician.post(
        f"/patients/{alice}/alerts/{bob_alert}/acknowledge",
        data={"csrf_token": csrf, "reason": "guessing"},
    )
    assert response.status_code == 404
    assert "Bob" not in response.text
    response = clinician.post(
        f"/patients/{alice}/responses/{bob_rid}/sign",
        data={
            "csrf_token": csrf,
            "category": "CR",
            "reason": "x",
            "attest": "yes",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 404
    api = web.api("clinician")
    assert api.get(f"/api/v1/patients/{bob + 1000}").status_code == 404
    with web.db() as session:
        assert session.get(ClinicalAlert, bob_alert).acknowledged_at is None  # type: ignore[union-attr]
        assert session.get(ResponseAssessmentRecord, bob_rid).signed_at is None  # type: ignore[union-attr]
