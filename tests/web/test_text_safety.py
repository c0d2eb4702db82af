"""Control characters and oversized bodies at the web door: refused before any route runs.

Every route, every way text reaches it (a query parameter, a form field, a
JSON string at any depth): 422 naming the field, never a 500, nothing
written. The check is ``pathways.core.text``'s, the one the CLI and case file use.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from carepath.web.deps import route_rules
from models.patient import Patient
from pathways.core.text import name_problem, text_problem, unsafe_strings
from tests.pathways.factories import case
from tests.web.support import Web

PROBLEM = "application/problem+json"
NUL_MESSAGE = (
    "contains an invisible control character (NUL) at position 4; type the text again without it"
)


def patients(web: Web) -> int:
    with web.db() as session:
        return int(session.execute(select(func.count()).select_from(Patient)).scalar_one())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Ann\x00Lee", "NUL"),
        ("Ann\x1b[31mLee", "U+001B"),
        ("Ann\x7fLee", "U+007F"),
        ("Ann\x85Lee", "U+0085"),
        ("Ann\u202eLee", "text-direction"),
        ("Ann\ud800Lee", "unpaired surrogate"),
    ],
)
def test_the_shared_check_refuses_controls_and_names_them(text: str, problem: str) -> None:
    found = text_problem(text)
    assert found is not None and problem in found
    assert "Ann" not in found, "the message never repeats the value"


def test_free_text_keeps_its_lines_but_one_line_values_and_names_do_not() -> None:
    assert text_problem("first line\r\nsecond\tline") is None
    assert text_problem("a\nb", one_line=True) == "must be on one line (no line breaks or tabs)"
    assert name_problem("Zoë O'Brien-Núñez") is None
    for markup in ("<script>alert(1)</script>", "Ann <b>Lee</b>", "Ann &lt;Lee", "Ann &#60;"):
        assert name_problem(markup) == "must be a name, without markup such as < > or &…; codes"


def test_every_string_of_a_document_is_checked_by_its_path() -> None:
    document = {"a": ["ok", {"b": "x\x00"}], "c\x00": 1, "d": 3}
    assert unsafe_strings(document) == {
        "a[1].b": "contains an invisible control character (NUL) at position 2; "
        "type the text again without it",
        "(document)": "a field name contains an invisible control character (NUL) at position 2; "
        "type the text again without it",
    }


def test_a_nul_in_the_intake_form_is_refused_naming_the_field(web: Web) -> None:
    client = web.client("coordinator")
    form = {"mrn": "NUL-1", "display_name": "Ann\x00Lee", "birth_date": "1970-01-01"}
    response = client.post("/patients", data=form | {"csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert response.status_code == 422
    assert "display_name" in response.text and NUL_MESSAGE in response.text
    assert "Ann" not in response.text
    assert patients(web) == 0


def test_a_nul_in_the_sign_in_form_is_refused_not_a_500(web: Web) -> None:
    response = web.client().post("/login", data={"username": "adm\x00in", "password": "x"})
    assert response.status_code == 422
    assert "username" in response.text


def test_a_nul_in_a_query_string_is_refused_naming_the_parameter(web: Web) -> None:
    page = web.client("coordinator").get("/patients", params={"q": "Ann\x00"})
    assert page.status_code == 422 and "q" in page.text
    api = web.api("coordinator").get("/api/v1/tasks", params={"status": "open\x00"})
    assert api.status_code == 422 and api.headers["content-type"] == PROBLEM
    assert api.json()["errors"] == [
        {
            "field": "status",
            "message": "contains an invisible control character (NUL) at position 5; "
            "type the text again without it",
        }
    ]


def test_a_nul_anywhere_in_an_api_body_is_a_problem_naming_its_path(web: Web) -> None:
    api = web.api("coordinator")
    document = case(**{"medications": ["posa\x00conazole"]})
    response = api.post(
        "/api/v1/patients",
        json={"mrn": "API-NUL", "display_name": "Ann\x00Lee", "case": document},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"display_name", "case.medications[0]"}
    assert "Ann" not in response.text
    assert patients(web) == 0


def test_every_route_refuses_a_control_character_before_it_runs(web: Web) -> None:
    """The guard stands in front of every route, whoever owns it and whatever it reads."""
    client = web.client("admin")
    api = web.api("clinician")
    for (method, path), _rule in route_rules(web.app.routes).items():
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        as_form = client.request(method, url, data={"note": "x\x00", "csrf_token": client.csrf})  # type: ignore[attr-defined]
        as_json = api.request(method, url, json={"reason": ["ok", {"note": "x\x01"}]})
        assert as_form.status_code == 422, (method, path, as_form.status_code)
        assert as_json.status_code == 422, (method, path, as_json.status_code)
        if path.startswith("/api/"):
            assert as_json.json()["field"] == "reason[1].note"


def test_a_body_past_the_cap_is_413_with_a_problem_document(web: Web) -> None:
    api = web.api("coordinator")
    cap = web.settings.max_body_bytes
    big = {"mrn": "BIG", "display_name": "x", "case": {"pad": "x" * cap}}
    response = api.post("/api/v1/patients", json=big)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "/api/v1/problems/too-large" and "1 MiB" in body["detail"]
    streamed = api.post(
        "/api/v1/patients",
        content=iter([b'{"pad": "', b"x" * cap, b'"}']),
        headers={"content-type": "application/json"},
    )
    assert streamed.status_code == 413
    page = web.client("coordinator").post("/patients", data={"display_name": "x" * cap})
    assert page.status_code == 413 and "at most 1 MiB" in page.text
    assert patients(web) == 0


def test_a_body_under_the_cap_is_read_by_the_route_as_sent(web: Web) -> None:
    api = web.api("coordinator")
    response = api.post(
        "/api/v1/patients",
        json={"mrn": "OK-1", "display_name": "Zoë Núñez", "case": case()},
    )
    assert response.status_code == 201, response.text
    assert response.json()["display_name"] == "Zoë Núñez"
