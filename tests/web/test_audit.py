"""The audit trail: every read and write of patient data leaves an event; the table only grows; nothing leaks to logs."""

from __future__ import annotations

import logging

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from models.audit import AuditEvent
from tests.web.support import Web


def events(web: Web, **where: object) -> list[AuditEvent]:
    with web.db() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)  # type: ignore[arg-type]
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(session.execute(query).scalars())


def test_reads_and_writes_from_web_and_api_are_audited(web: Web) -> None:
    pid = web.patient()
    tid = web.task(pid)
    web.client("quality").get(f"/patients/{pid}")
    # One page view is one event, naming every kind of record the page read.
    [view] = events(web, actor="quality1", action="read")  # five reads before, one now
    assert (view.action, view.entity, view.entity_id) == (
        "read",
        "view",
        "GET /patients/{patient_id}",
    )
    assert (view.patient_id, view.channel, view.role) == (pid, "web", "quality")
    read = {r["entity"] for r in view.detail["records"]}  # type: ignore[index]
    assert read >= {"patient", "care_task", "observation", "clinical_alert"}
    api = web.api("coordinator")
    api.get("/api/v1/tasks?bucket=today")
    listed = events(web, actor="coordinator1", action="list", entity="care_task")
    assert [e.patient_id for e in listed] == [pid] and listed[0].channel == "api"
    api.post(f"/api/v1/tasks/{tid}/claim")
    claim = events(web, action="claim")[0]
    assert (claim.actor, claim.role, claim.channel, claim.patient_id, claim.entity_id) == (
        "coordinator1",
        "coordinator",
        "api",
        pid,
        str(tid),
    )


def test_a_refused_write_leaves_no_audit_event_of_the_write(web: Web) -> None:
    pid = web.patient()
    api = web.api("coordinator")
    api.post(
        f"/api/v1/patients/{pid}/observations",
        json={
            "observations": [
                {"code": "alt", "value": 1, "unit": "mmHg", "observed_at": "2026-11-24T08:00:00Z"}
            ]
        },
    )
    assert events(web, action="create", entity="observation") == []


def test_the_audit_table_is_append_only(web: Web, database_url: str) -> None:
    web.patient()
    # The app's role may not (tests/models/test_least_privilege.py); the triggers refuse the owner.
    with pytest.raises(DBAPIError, match="permission denied"), web.db() as session:
        session.execute(text("UPDATE audit_event SET actor = 'someone else'"))
    with pytest.raises(DBAPIError, match="permission denied"), web.db() as session:
        session.execute(text("DELETE FROM audit_event"))
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT count(*) FROM audit_event").fetchone()[0] >= 1  # type: ignore[index]


def test_the_audit_page_lists_and_filters(web: Web) -> None:
    a, b = web.patient("Ann Audit", mrn="AUD-1"), web.patient("Bo Audit", mrn="AUD-2")
    web.client("clinician").get(f"/patients/{a}")
    web.client("coordinator").get(f"/patients/{b}")
    page = web.client("admin").get(f"/audit?patient={a}&action=read")
    assert page.status_code == 200
    assert "clinician1" in page.text and "coordinator1" not in page.text
    # An admin reads no patient records: ids only. Quality may: name and MRN, by MRN too.
    assert f"patient {a}" in page.text and "Ann Audit" not in page.text
    quality = web.client("quality").get("/audit?patient=aud-1&action=read").text
    assert "Ann Audit" in quality and "MRN AUD-1" in quality and "Bo Audit" not in quality
    with web.db() as session:
        [seen] = session.execute(
            select(AuditEvent).where(
                col(AuditEvent.actor) == "quality1", col(AuditEvent.action) == "read"
            )
        ).scalars()
    assert seen.entity == "view" and seen.patient_id == a  # showing the name is a read of it
    assert {"entity": "patient", "action": "list", "fields": "name, MRN"} in (seen.detail or {})[
        "records"
    ]
    assert "no patient has this MRN" in web.client("quality").get("/audit?patient=abc").text
    assert (
        web.client("quality")
        .get("/audit?since=2026-11-01&until=2026-11-30&channel=web")
        .status_code
        == 200
    )


def test_no_patient_data_reaches_the_logs(web: Web, caplog: pytest.LogCaptureFixture) -> None:
    pid = web.patient("Zelda Private", mrn="SECRET-77")
    client = web.client("coordinator")
    with caplog.at_level(logging.DEBUG):
        client.get("/patients?q=Zelda+Private")
        client.get("/patients?q=SECRET-77")
        client.get(f"/patients/{pid}")
        web.api("coordinator").get("/api/v1/patients/999999")
    # The test's own HTTP client logs its requests; everything else is the app's.
    client_side = ("httpx", "httpcore", "asyncio")
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(client_side))
    assert "GET /patients 200" in logged and "GET /patients/{patient_id} 200" in logged
    assert "Zelda" not in logged and "SECRET-77" not in logged


def test_serve_writes_access_lines_with_route_templates_only(
    web: Web, capsys: pytest.CaptureFixture[str]
) -> None:
    from carepath.cli.serve import configure_access_log

    pid = web.patient("Zelda Private", mrn="SECRET-77")
    log = logging.getLogger("carepath.access")
    level, propagate = log.level, log.propagate
    handler = configure_access_log(web.settings)
    assert handler is not None
    try:
        web.client("coordinator").get(f"/patients/{pid}?q=Zelda")
    finally:  # leave the logger as other tests (caplog) expect it
        log.removeHandler(handler)
        log.setLevel(level)
        log.propagate = propagate
    err = capsys.readouterr().err
    assert "access GET /patients/{patient_id} 200" in err
    assert f"/patients/{pid}" not in err and "Zelda" not in err
    quiet = web.settings.model_copy(update={"access_log": False})
    assert configure_access_log(quiet) is None
