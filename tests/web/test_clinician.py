"""Clinician actions: sign and amend a response, confirm a transition, acknowledge an alert.

Each leaves who, when and why, and each is refused for every other role.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models.audit import AuditEvent
from models.pathway import PathwayInstance, PhaseEvent, ResponseAssessmentRecord
from models.task import ClinicalAlert
from tests.web.support import PASSWORD, Web, cr_findings


def test_the_page_shows_the_suggestion_with_reasons_and_rules_and_signing_keeps_it(
    web: Web,
) -> None:
    pid = web.patient(cns_status="negative")
    rid = web.assessment(pid, **cr_findings())
    clinician = web.client("clinician")
    page = clinician.get(f"/patients/{pid}").text
    assert "The engine <strong>suggests CR" in page
    assert "DEF-15" in page or "DEF-03" in page
    assert "signature; nothing follows from it" in page
    unsigned = clinician.post(
        f"/patients/{pid}/responses/{rid}/sign",
        data={"csrf_token": clinician.csrf, "category": "CR", "reason": "marrow reviewed"},  # type: ignore[attr-defined]
    )
    assert unsigned.status_code == 422 and "tick the box" in unsigned.text
    assert "enter your own password to sign" in unsigned.text
    # A session left open is not a signature: the wrong password signs nothing.
    wrong = clinician.post(
        f"/patients/{pid}/responses/{rid}/sign",
        data={
            "csrf_token": clinician.csrf,  # type: ignore[attr-defined]
            "category": "CR",
            "reason": "marrow reviewed",
            "attest": "yes",
            "password": "not mine",
        },
    )
    assert wrong.status_code == 422 and "enter your own password to sign" in wrong.text
    assert "not mine" not in wrong.text  # a password is never echoed back
    with web.db() as session:
        still = session.get(ResponseAssessmentRecord, rid)
        assert still is not None and still.signed_at is None
    signed = clinician.post(
        f"/patients/{pid}/responses/{rid}/sign",
        data={
            "csrf_token": clinician.csrf,  # type: ignore[attr-defined]
            "category": "CR",
            "reason": "marrow reviewed with haematopathology",
            "attest": "yes",
            "password": PASSWORD,
        },
    )
    assert signed.status_code == 303
    with web.db() as session:
        row = session.get(ResponseAssessmentRecord, rid)
        assert row is not None
        assert row.signed_category is not None and row.signed_category.value == "CR"
        assert row.signed_by == "clinician1" and row.signed_at == web.clock()
        assert row.sign_reason == "marrow reviewed with haematopathology"
        assert row.suggested_category is not None and row.suggestion is not None
        assert row.suggestion["rule_ids"]
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "sign")).scalar_one()
    assert event.actor == "clinician1" and event.role == "clinician" and event.patient_id == pid
    again = clinician.post(
        f"/patients/{pid}/responses/{rid}/sign",
        data={
            "csrf_token": clinician.csrf,
            "category": "CRi",
            "reason": "x",
            "attest": "yes",
            "password": PASSWORD,
        },  # type: ignore[attr-defined]
    )
    assert again.status_code == 409


def test_an_amendment_is_a_new_signed_row_and_the_original_stays(web: Web) -> None:
    pid = web.patient()
    rid = web.assessment(
        pid,
        **cr_findings(),
        signed_category="CR",
        signed_by="clinician1",
        signed_at=web.clock() - timedelta(hours=3),
        sign_reason="first read",
    )
    clinician = web.client("clinician")
    response = clinician.post(
        f"/patients/{pid}/responses/{rid}/amend",
        data={
            "csrf_token": clinician.csrf,  # type: ignore[attr-defined]
            "category": "CRi",
            "reason": "platelets were transfused the day before",
            "attest": "yes",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303
    with web.db() as session:
        rows = list(
            session.execute(
                select(ResponseAssessmentRecord).order_by(ResponseAssessmentRecord.id)
            ).scalars()
        )  # type: ignore[arg-type]
    assert [r.signed_category.value for r in rows] == ["CR", "CRi"]  # type: ignore[union-attr]
    assert rows[1].amends_id == rid and rows[1].sign_reason.startswith("platelets")  # type: ignore[union-attr]
    assert rows[0].sign_reason == "first read"
    twice = clinician.post(
        f"/patients/{pid}/responses/{rid}/amend",
        data={
            "csrf_token": clinician.csrf,
            "category": "CR",
            "reason": "x",
            "attest": "yes",
            "password": PASSWORD,
        },  # type: ignore[attr-defined]
    )
    assert twice.status_code == 409


def test_other_roles_cannot_sign_confirm_or_acknowledge(web: Web) -> None:
    pid = web.patient()
    rid = web.assessment(pid, **cr_findings())
    aid = web.alert(pid)
    for role in ("coordinator", "quality", "admin"):
        client = web.client(role)
        data = {
            "csrf_token": client.csrf,
            "category": "CR",
            "reason": "r",
            "attest": "yes",
            "password": PASSWORD,
        }  # type: ignore[attr-defined]
        assert client.post(f"/patients/{pid}/responses/{rid}/sign", data=data).status_code == 403
        assert (
            client.post(f"/patients/{pid}/alerts/{aid}/acknowledge", data=data).status_code == 403
        )
        assert (
            client.post(
                f"/patients/{pid}/transitions", data=data | {"event": "document_rr_diagnosis"}
            ).status_code
            == 403
        )
    with web.db() as session:
        assert session.get(ResponseAssessmentRecord, rid).signed_at is None  # type: ignore[union-attr]
        assert session.get(ClinicalAlert, aid).acknowledged_at is None  # type: ignore[union-attr]
        denied = (
            session.execute(select(AuditEvent).where(AuditEvent.action == "denied")).scalars().all()
        )
    assert len(denied) == 9


def test_a_clinician_confirms_a_transition_with_a_reason(web: Web) -> None:
    pid = web.patient()
    clinician = web.client("clinician")
    page = clinician.get(f"/patients/{pid}").text
    assert "document_rr_diagnosis" in page
    missing = clinician.post(
        f"/patients/{pid}/transitions",
        data={"csrf_token": clinician.csrf, "event": "document_rr_diagnosis", "reason": ""},  # type: ignore[attr-defined]
    )
    assert missing.status_code == 422 and "a reason is required" in missing.text
    refused = clinician.post(
        f"/patients/{pid}/transitions",
        data={"csrf_token": clinician.csrf, "event": "start_induction", "reason": "go"},  # type: ignore[attr-defined]
    )
    assert refused.status_code == 422 and "not allowed" in refused.text
    ok = clinician.post(
        f"/patients/{pid}/transitions",
        data={
            "csrf_token": clinician.csrf,  # type: ignore[attr-defined]
            "event": "document_rr_diagnosis",
            "reason": "marrow shows 40% blasts",
        },
    )
    assert ok.status_code == 303
    with web.db() as session:
        phase = session.execute(select(PathwayInstance.phase)).scalar_one()
        event = session.execute(
            select(PhaseEvent).where(PhaseEvent.event == "document_rr_diagnosis")
        ).scalar_one()
    assert phase.value == "workup"
    assert event.actor == "clinician1" and event.reason == "marrow shows 40% blasts"
    timeline = clinician.get(f"/patients/{pid}").text
    assert "marrow shows 40% blasts" in timeline and 'class="strip"' in timeline


def test_a_clinician_acknowledges_an_alert_with_a_reason(web: Web) -> None:
    pid = web.patient()
    aid = web.alert(pid)
    clinician = web.client("clinician")
    queue = clinician.get("/queue").text
    assert "Critical alerts (1)" in queue
    empty = clinician.post(
        f"/patients/{pid}/alerts/{aid}/acknowledge",
        data={"csrf_token": clinician.csrf, "reason": ""},  # type: ignore[attr-defined]
    )
    assert empty.status_code == 422
    ok = clinician.post(
        f"/patients/{pid}/alerts/{aid}/acknowledge",
        data={"csrf_token": clinician.csrf, "reason": "dose held; repeat LFTs tomorrow"},  # type: ignore[attr-defined]
    )
    assert ok.status_code == 303
    with web.db() as session:
        alert = session.get(ClinicalAlert, aid)
    assert alert is not None and alert.acknowledged_by == "clinician1"
    assert alert.acknowledged_at == web.clock()
    assert alert.acknowledge_reason == "dose held; repeat LFTs tomorrow"
