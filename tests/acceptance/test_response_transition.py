"""Journey c — a response marrow, its signature and the phase transition it implies, in one flow.

The real `carepath serve`, a real Chromium, the clinic's clock fixed at
``harness.NOW`` (Tuesday 2026-11-24). A patient on blinatumomab cycle 1 (day 1
2026-10-27, so today is day 29) is in response assessment (SM-05). A
coordinator records the day-29 marrow through the patient page. One run of
``evaluate-results`` stores the engine's suggestion (CR, DEF-03) and asks a
clinician to sign (RESP-04): it is at the top of the patient page and in the
clinician's queue. The clinician signs CR with their password and attestation
and, on the same form, confirms "remission, transplant-eligible" (SM-06,
POST-01). The header's phase changes, the induction course ends (no "cycle day
503, active" later), the sign task closes, and planning brings the
transplant-team review (POST-01).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.acceptance.harness import TODAY, Carepath, User, sign_in

# The first journey of a session also waits for the server (minutes on a busy 2-core machine).
pytestmark = [pytest.mark.acceptance, pytest.mark.browser, pytest.mark.timeout(1500)]

CASE = {
    "format": "carepath.case/1",
    "as_of": TODAY,
    "timezone": "America/New_York",
    "patient": {"birth_date": "1972-06-02", "weight_kg": 70, "height_cm": 172},
    "disease": {
        "lineage": "B",
        "cd19": "positive",
        "cd22": "positive",
        "ph_positive": False,
        "kmt2a_rearranged": False,
        "cns_status": "negative",
    },
    "history": {"status": "relapsed", "relapse_dates": ["2026-09-20"]},
    "fitness": {"category": "fit", "ecog": 1, "hct_eligible": "yes"},
    "goal": "cure",
}
DAY_1 = "2026-10-27"  # blinatumomab cycle 1 day 1: today is day 29
MARROW = {
    "marrow_blast_pct": "2",
    "trilineage_hematopoiesis": "yes",
    "circulating_blasts": "no",
    "end_of_induction": "yes",
    "anc_per_ul": "1500",
    "platelets_per_ul": "150000",
    "mrd_method": "flow",
    "mrd_value": "0.00005",
}


def patient_in_response_assessment(server: Carepath, coordinator: User, clinician: User) -> int:
    with server.api(coordinator) as api:
        answer = api.post(
            "/patients", json={"mrn": "ACC-RESP", "display_name": "Rosa Response", "case": CASE}
        )
    assert answer.status_code == 201, answer.text
    pid = str(answer.json()["id"])

    def move(event: str) -> None:
        # A CLI transition acts as a named clinician's account (audited with credential cli).
        server.cli("transition", pid, event, "--actor", clinician.username, "--reason", "journey c")

    move("document_rr_diagnosis")
    move("complete_workup")
    server.cli(
        "course", "start", pid, "--regimen", "blinatumomab", "--anchor", DAY_1,
        "--actor", clinician.username,  # an active account: --actor is no free text
    )  # fmt: skip
    move("start_induction")
    move("begin_response_assessment")
    return int(pid)


def record_marrow(page: Any, server: Carepath, pid: int) -> None:
    page.goto(f"{server.url}/patients/{pid}#responses")
    page.click("#record summary")
    form = page.locator("#record form")
    for name, value in MARROW.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button:has-text('Record assessment')").click()
    page.wait_for_load_state()


def test_a_response_is_signed_and_its_transition_confirmed_in_one_flow(
    server: Carepath, coordinator: User, clinician: User, page: Any, shots: Any
) -> None:
    # rule: RESP-04, DEF-03, SM-05, SM-06, POST-01
    pid = patient_in_response_assessment(server, coordinator, clinician)
    sign_in(page, server, coordinator)
    record_marrow(page, server, pid)
    shots(page, "1-marrow-recorded")
    (row,) = server.rows(
        "SELECT id, marrow_blast_pct, mrd_value, signed_at FROM response_assessment "
        "WHERE patient_id = :id",
        id=pid,
    )
    assert (row.marrow_blast_pct, row.mrd_value, row.signed_at) == (2.0, 5e-05, None)

    run = server.run_job("evaluate-results")
    assert run.returncode == 0, run.stdout + run.stderr
    (sign_task,) = server.rows(
        "SELECT id, title, role_queue, status FROM care_task "
        "WHERE patient_id = :id AND rule_id = 'RESP-04'",
        id=pid,
    )
    assert sign_task.role_queue == "clinician" and sign_task.status == "requested"

    # The clinician's queue asks for the signature; the patient page puts it first.
    page.context.clear_cookies()
    sign_in(page, server, clinician)
    page.goto(f"{server.url}/queue?bucket=upcoming")  # due within 48 h: the next-days tab
    shots(page, "2-clinician-queue")
    assert page.locator(f"tr[data-task='{sign_task.id}']").count() == 1
    assert f"Sign the response assessment of {TODAY}" in page.inner_text("main")
    page.goto(f"{server.url}/patients/{pid}")
    shots(page, "3-suggestion-at-the-top")
    header = page.locator("#summary")
    assert header.locator(".phase").get_attribute("data-phase") == "response_assessment"
    assert "blinatumomab cycle 1, day 29" in header.inner_text()
    assert "CR for the assessment of 2026-11-24" in header.inner_text()
    card = page.locator(f"#sign-{row.id}")
    card_box, facts_box = card.bounding_box(), page.locator("#facts-h").bounding_box()
    assert card_box is not None and facts_box is not None and card_box["y"] < facts_box["y"]
    assert "suggests CR" in card.inner_text()
    assert "marrow blasts 2%" in card.inner_text() and "0.005% (5×10⁻⁵)" in card.inner_text()
    form = card.locator("form")
    assert form.locator("[name=category]").input_value() == ""  # not pre-selected

    # One flow: the category, the transition it implies, one reason, one signature.
    form.locator("[name=category]").select_option("CR")
    option = form.locator("[data-event=remission_to_hct]")
    assert "Guard: a signed" in option.inner_text()
    option.locator("input").check()
    form.locator("[name=reason]").fill("Day 29 marrow: CR, MRD 5x10^-5; refer for HCT")
    form.locator("[name=attest]").check()
    form.locator("[name=password]").fill(clinician.password)
    shots(page, "4-sign-and-transition")
    form.locator("button:has-text('Sign')").click()
    page.wait_for_load_state()
    shots(page, "5-after")
    body = page.inner_text("body")
    assert "Response category signed and the phase transition confirmed." in body

    # The header's phase, the finished course, the signature on the findings, the task.
    header = page.locator("#summary")
    assert header.locator(".phase").get_attribute("data-phase") == "post_remission_hct"
    assert "no course in progress" in header.inner_text()
    assert "ended 2026-11-24" in page.inner_text("#courses")
    assessments = server.rows(
        "SELECT id, signed_category, signed_by, marrow_blast_pct, suggested_category "
        "FROM response_assessment WHERE patient_id = :id",
        id=pid,
    )
    assert [tuple(a) for a in assessments] == [(row.id, "CR", clinician.username, 2.0, "CR")]
    (course,) = server.rows("SELECT status, ended_at FROM course WHERE patient_id = :id", id=pid)
    assert course.status == "completed" and course.ended_at is not None
    (closed,) = server.rows("SELECT status FROM care_task WHERE id = :id", id=sign_task.id)
    assert closed.status == "completed"
    events = server.rows(
        "SELECT event, actor FROM phase_event WHERE patient_id = :id ORDER BY id", id=pid
    )
    assert tuple(events[-1]) == ("remission_to_hct", clinician.username)

    # The next tasks follow: planning brings the transplant-team review (POST-01).
    plan = server.run_job("plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    referral = server.rows(
        "SELECT title, status FROM care_task WHERE patient_id = :id AND rule_id = 'POST-01'",
        id=pid,
    )
    assert [r.status for r in referral] == ["requested"], referral
    page.goto(f"{server.url}/patients/{pid}")
    shots(page, "6-next-tasks")
    assert "Transplant-team review" in page.inner_text("#tasks")
