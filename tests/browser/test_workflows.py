"""A coordinator and a clinician at work, in a real browser against a real server and database."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from carepath.demo.cohort import COHORT
from carepath.demo.loader import load_patient
from models.observation import Observation
from models.pathway import ResponseAssessmentRecord
from models.task import CareTask
from pathways.definition import load_definition
from pathways.vocab import Role, TaskKind, TaskStatus
from tests.web.support import PASSWORD, Web

pytestmark = pytest.mark.browser


def sign_in(page: Any, server: str, username: str) -> None:
    page.goto(f"{server}/")
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")


def seed_patient(web: Web) -> int:
    """A blinatumomab patient at response assessment, from the demo cohort, with labs."""
    entry = next(e for e in COHORT if e.mrn == "DEMO-021")
    with web.db() as session:
        pid = load_patient(
            session,
            entry,
            today=web.clock.today,
            timezone="America/New_York",
            definition=load_definition("rr-all-adult"),
        )
        for days, anc, plt, bili, alt in (
            (20, 400, 40000, 0.9, 35),
            (10, 900, 80000, 1.4, 90),
            (2, 1600, 130000, 2.0, 120),
        ):
            at = web.clock() - timedelta(days=days)
            for code, value, unit, uln in (
                ("anc", anc, "/uL", None),
                ("platelets", plt, "/uL", None),
                ("total_bilirubin", bili, "mg/dL", 1.2),
                ("alt", alt, "U/L", 40),
            ):
                session.add(
                    Observation(
                        patient_id=pid,
                        code=code,
                        value=value,
                        unit=unit,
                        uln=uln,
                        observed_at=at,
                        recorded_by="lab-feed",
                    )
                )
    return pid


def test_coordinator_claims_completes_and_skips(
    web: Web, server: str, page: Any, shots: Any
) -> None:
    web.user("coordinator")
    pid = seed_patient(web)
    lft = web.task(
        pid, due_in_days=-1, title="Liver tests before inotuzumab dose", result_fields=["lft"]
    )
    ecg = web.task(
        pid,
        due_in_days=-1,
        kind=TaskKind.ECG,
        title="ECG (QTcF) on revumenib",
        rule_id="MON-13",
        section="KMT2A (chromosome 11q23) rearranged > Toxicity",
        result_fields=["qtcf_ms"],
        regimen="revumenib",
    )
    web.task(pid, due_in_days=0, title="CBC before cycle 2", result_fields=["cbc"])
    web.task(
        pid,
        due_in_days=4,
        title="Marrow aspirate: response assessment",
        kind=TaskKind.BONE_MARROW_ASSESSMENT,
        rule_id="RESP-03",
        section="Response assessment",
        result_fields=["marrow"],
    )

    sign_in(page, server, "coordinator1")
    page.wait_for_url(re.compile(r"/queue"))
    assert page.locator("[data-count=overdue]").inner_text() == "2"
    shots(page, "1-queue")

    page.locator(f"tr[data-task='{lft}'] button:has-text('Claim')").click()
    page.wait_for_url(re.compile(rf"/tasks/{lft}"))
    assert page.locator(".why-card").get_by_text("MON-05").count() >= 1
    page.fill("#f-alt", "52")
    page.fill("#f-ast", "abc")
    page.click("button:has-text('Complete task')")
    assert page.locator("#err-ast").inner_text() == "must be a number"
    assert page.locator("#err-total_bilirubin").inner_text() == "required"
    shots(page, "2-task-errors")
    page.fill("#f-ast", "48")
    page.fill("#f-total_bilirubin", "1.0")
    page.fill("#f-alp", "110")
    page.click("button:has-text('Complete task')")
    page.wait_for_url(re.compile(r"/queue\?done=completed"))
    assert "Task completed." in page.locator(".notice:not(#live-status)").inner_text()

    page.click(f"tr[data-task='{ecg}'] a")
    page.fill(
        "form[action$='/skip'] textarea[name=reason]",
        "ECG done at the cardiology clinic; report scanned",
    )
    shots(page, "3-skip")
    page.click("button:has-text('Skip with reason')")
    page.wait_for_url(re.compile(r"/queue\?done=skipped"))
    assert page.locator("[data-count=overdue]").inner_text() == "0"
    shots(page, "4-queue-after")

    with web.db() as session:
        done = session.get(CareTask, lft)
        skipped = session.get(CareTask, ecg)
        assert done is not None and skipped is not None
        assert done.status == TaskStatus.COMPLETED and done.result["alt"] == 52.0  # type: ignore[index]
        assert skipped.status == TaskStatus.CANCELLED and "cardiology" in (
            skipped.status_reason or ""
        )


def test_clinician_opens_a_timeline_and_signs_a_response(
    web: Web, server: str, page: Any, shots: Any
) -> None:
    web.user("clinician")
    pid = seed_patient(web)
    web.alert(pid)
    web.task(
        pid,
        due_in_days=1,
        role=Role.CLINICIAN,
        title="Review response marrow",
        kind=TaskKind.CLINICIAN_REVIEW,
        rule_id="RESP-04",
        section="Response assessment",
        result_fields=[],
    )
    with web.db() as session:
        row = ResponseAssessmentRecord(
            patient_id=pid,
            assessed_on=web.clock.today - timedelta(days=1),
            marrow_blast_pct=2.0,
            trilineage_hematopoiesis=True,
            circulating_blasts=False,
            anc_per_ul=1600,
            platelets_per_ul=130000,
            end_of_induction=True,
            recorded_by="coordinator1",
        )
        session.add(row)
        session.flush()
        rid = row.id

    sign_in(page, server, "clinician1")
    page.wait_for_url(re.compile(r"/queue"))
    assert "Critical alerts (1)" in page.content()
    page.click("a:has-text('Viktor Blom')")
    page.wait_for_url(re.compile(rf"/patients/{pid}"))
    timeline = page.locator("#timeline")
    for event in (
        "document rr diagnosis",
        "complete workup",
        "start induction",
        "begin response assessment",
    ):
        assert timeline.get_by_text(event).count() >= 1
    assert page.locator("svg.strip rect").count() >= 4
    assert page.locator("svg.chart").count() == 4  # liver xULN, white cells, platelets, haemoglobin
    suggestion = page.locator(f"#sign-{rid}")
    assert "suggests" in suggestion.inner_text()
    shots(page, "1-patient")

    suggestion.locator("textarea[name=reason]").fill("Day-29 marrow: 2% blasts, counts recovered")
    suggestion.locator("button:has-text('Sign')").click()
    refused = page.locator(f"#sign-{rid}").inner_text()
    assert "tick the box" in refused and "enter your own password" in refused
    # The category is the clinician's choice: never pre-selected (issue 14, point 3).
    page.locator(f"#sign-{rid} select[name=category]").select_option("CR")
    page.locator(f"#sign-{rid} input[name=attest]").check()
    page.locator(f"#sign-{rid} input[name=password]").fill(PASSWORD)
    page.locator(f"#sign-{rid} textarea[name=reason]").fill(
        "Day-29 marrow: 2% blasts, counts recovered"
    )
    page.locator(f"#sign-{rid} button:has-text('Sign')").click()
    page.wait_for_url(re.compile(r"done=signed"))
    assert "Response category signed." in page.locator(".notice:not(#live-status)").inner_text()
    assert "by Clinician 1" in page.locator(f"#assessment-{rid}").inner_text()  # by name
    shots(page, "2-signed")

    page.locator("#alerts input[name=reason]").fill("Dose held, LFTs repeated tomorrow")
    page.locator("#alerts button:has-text('Acknowledge')").click()
    page.wait_for_url(re.compile(r"done=acknowledged"))
    assert "Dose held" in page.locator("#alerts").inner_text()

    page.emulate_media(media="print")
    shots(page, "3-print")
    assert not page.locator("header.top").is_visible()

    with web.db() as session:
        signed = session.execute(
            select(ResponseAssessmentRecord).where(ResponseAssessmentRecord.id == rid)
        ).scalar_one()
    assert signed.signed_by == "clinician1" and signed.suggested_category is not None


def test_intake_form_shows_errors_in_the_browser(
    web: Web, server: str, page: Any, shots: Any
) -> None:
    web.user("coordinator")
    sign_in(page, server, "coordinator1")
    page.wait_for_url(re.compile(r"/queue"))
    page.goto(f"{server}/patients/new")
    page.fill("#f-mrn", "BRW-1")
    page.fill("#f-display_name", "Browser Person")
    page.fill("#f-birth_date", "1/2/1970")
    page.select_option("#f-status", "relapsed")
    page.click("button:has-text('Add patient')")
    # Every problem at once, each beside its field: the shapes and the case's own checks.
    assert page.locator("#err-birth_date").inner_text() == "must be a date, YYYY-MM-DD"
    assert page.locator("#err-lineage").inner_text() == "required"
    assert page.locator("#err-relapse_dates").inner_text() == (
        "give the date of each relapse (the status is relapsed)"
    )
    shots(page, "1-errors")
    page.fill("#f-birth_date", "1970-01-02")
    page.select_option("#f-lineage", "B")
    page.click("button:has-text('Add patient')")
    assert page.locator("#err-birth_date").count() == 0
    assert page.locator("#err-relapse_dates").count() == 1
    page.fill("#f-relapse_dates", "2026-10-30")
    # Intake plans the patient before it answers: give a busy machine time.
    page.click("button:has-text('Add patient')", no_wait_after=True)
    page.wait_for_url(re.compile(r"/patients/\d+\?done=created"), timeout=90_000)
    assert "Browser Person" in page.locator("h1").inner_text()
