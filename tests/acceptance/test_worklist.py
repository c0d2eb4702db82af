"""Journeys of the worklist (issue 14): the coordinator's day and the clinician's first things.

The real `carepath serve`, a real Chromium, the clinic's clock fixed at
``harness.NOW``. A coordinator finds a patient by MRN, claims two tasks at
once, comments on one and sees both on the week calendar, held by her name.
A clinician keeps the queue open while a critical liver result is evaluated:
the alert arrives first in the list and the navigation count changes without
a reload (``static/live.js`` polling ``/queue/live.json``), and the clinician
acknowledges the group from the list with a reason.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.acceptance.harness import PASSWORD, Carepath, User, sign_in
from tests.acceptance.test_liver_safety import open_lab_form, patient_on_inotuzumab

pytestmark = [pytest.mark.acceptance, pytest.mark.browser, pytest.mark.timeout(900)]

CASE = {
    "format": "carepath.case/1",
    "as_of": "2026-11-24",
    "timezone": "America/New_York",
    "patient": {"birth_date": "1968-03-14", "weight_kg": 72, "height_cm": 170},
    "disease": {"lineage": "B", "cd19": "positive", "cd22": "positive", "ph_positive": False},
    "history": {"status": "relapsed", "relapse_dates": ["2026-11-16"]},
}
# The page polls every 20 s by default; a busy machine may take a few rounds.
LIVE_WAIT_MS = 75_000


def test_a_coordinator_finds_by_mrn_claims_two_comments_and_sees_the_week(
    server: Carepath, page: Any, shots: Any
) -> None:
    server.cli(
        "user", "add", "dana", "--role", "coordinator", "--password", PASSWORD,
        "--name", "Dana Reyes",
    )  # fmt: skip
    dana = User("dana", "coordinator")
    with server.api(dana) as api:
        for mrn, name in (("ACC-WEEK1", "Wendy Week"), ("ACC-OTHER", "Otto Other")):
            answer = api.post("/patients", json={"mrn": mrn, "display_name": name, "case": CASE})
            assert answer.status_code == 201, answer.text

    sign_in(page, server, dana)
    page.goto(f"{server.url}/queue?view=open")
    page.fill("input[name=q]", "acc-week1")  # the MRN as typed, any case
    page.click("button:has-text('Search')")
    page.wait_for_load_state()
    rows = page.locator("table.queue tbody tr")
    assert rows.count() >= 2
    assert "Otto Other" not in page.inner_text("table.queue")
    assert "Wendy Week" in page.inner_text("table.queue")
    # One sentence per window, no FHIR words.
    first_row = rows.first.inner_text()
    assert "due " in first_row and "missed after" in first_row and "requested" not in first_row
    ids = rows.evaluate_all("rs => rs.slice(0, 2).map(r => Number(r.dataset.task))")
    for task_id in ids:
        page.check(f"tr[data-task='{task_id}'] input[type=checkbox]")
    page.select_option("#bulk select[name=action]", "claim")
    shots(page, "1-two-ticked")
    page.click("#bulk button:has-text('Apply')")
    page.wait_for_load_state()
    assert "Tasks claimed." in page.inner_text("body")
    held = server.rows(
        "SELECT id, owner, status FROM care_task WHERE id = ANY(:ids) ORDER BY id", ids=ids
    )
    assert [(r.owner, r.status) for r in held] == [("dana", "accepted")] * 2

    page.goto(f"{server.url}/tasks/{ids[0]}")
    assert "held by Dana Reyes" in page.inner_text("main")
    page.fill("#comments textarea[name=body]", "Called the patient: Thursday suits her")
    page.click("#comments button:has-text('Add comment')")
    page.wait_for_load_state()
    assert "Called the patient: Thursday suits her" in page.inner_text("#comments")
    shots(page, "2-commented")
    stored = server.rows("SELECT task_id, author, body FROM task_comment")
    assert [tuple(r) for r in stored] == [
        (ids[0], "dana", "Called the patient: Thursday suits her")
    ]
    audited = server.rows(
        "SELECT count(*) AS n FROM audit_event WHERE action = 'comment' AND entity_id = :id",
        id=str(ids[0]),
    )
    assert audited[0].n == 1

    due = server.rows("SELECT min(due_date) AS d FROM care_task WHERE id = ANY(:ids)", ids=ids)
    page.goto(f"{server.url}/queue/week?from={due[0].d.isoformat()}&q=ACC-WEEK1")
    shots(page, "3-week")
    for task_id in ids:
        item = page.locator(f".week-day li[data-task='{task_id}']")
        if item.count():
            assert "held by Dana Reyes" in item.inner_text()
    assert page.locator(".week-day li[data-task]").count() >= 1


def test_a_clinician_sees_a_critical_alert_arrive_first_and_acknowledges_it_from_the_list(
    server: Carepath,
    coordinator: User,
    clinician: User,
    browser: Any,
    page: Any,
    shots: Any,
) -> None:
    # rule: INO-05
    pid = patient_on_inotuzumab(server, coordinator, "Lena Live")
    sign_in(page, server, clinician)
    page.goto(f"{server.url}/queue")
    page.evaluate("window.__notReloaded = true")
    page.wait_for_function("document.getElementById('nav-count').textContent !== ''")
    before = page.evaluate("document.getElementById('nav-count').textContent")

    # Meanwhile the coordinator records a bilirubin from another browser, and it is evaluated.
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = other.new_page()
    try:
        sign_in(tab, server, coordinator)
        form = open_lab_form(tab, server, pid)
        form.locator("[name=total_bilirubin]").fill("3.2")
        form.locator("button:has-text('Record results')").click()
        # The answer to the post, not the page it was posted from (closing the tab early
        # would cancel the post).
        tab.wait_for_url(re.compile(r"done=recorded"))
    finally:
        other.close()
    run = server.run_job("evaluate-results")
    assert run.returncode == 0, run.stdout + run.stderr

    # Without a reload, the alert is first and the count in the navigation has changed.
    page.wait_for_selector(".alerts-box li.sev-critical", timeout=LIVE_WAIT_MS)
    assert page.evaluate("window.__notReloaded") is True
    page.wait_for_function(
        f"document.getElementById('nav-count').textContent !== {before!r}", timeout=LIVE_WAIT_MS
    )
    assert "the list changed" in page.inner_text("#live-status").lower()
    shots(page, "1-alert-arrived")
    first = page.locator("#worklist > section").first
    assert "Critical alerts" in first.inner_text() and "Lena Live" in first.inner_text()
    rule = first.locator("a.rule", has_text="INO-05").first
    assert "RULES.md §" in (rule.get_attribute("title") or "")

    # Acknowledged from the list, with a reason; its review task is done with it.
    group = first.locator("li.sev-critical").first
    group.locator("summary").click()
    group.locator("button:has-text('Acknowledge')").click()  # no reason: the browser asks
    assert group.locator("input[name=reason]").evaluate("e => !e.validity.valid")
    group.locator("input[name=reason]").fill("Dose held; LFT repeated tomorrow")
    group.locator("button:has-text('Acknowledge')").click()
    page.wait_for_url(re.compile(r"done=acknowledged_group"))
    assert "Alerts acknowledged" in page.inner_text("body")
    shots(page, "2-acknowledged")
    (alert,) = server.rows(
        "SELECT a.acknowledged_by, a.acknowledge_reason, t.status FROM clinical_alert a "
        "JOIN care_task t ON t.id = a.task_id"
    )
    assert tuple(alert) == (clinician.username, "Dose held; LFT repeated tomorrow", "completed")
    assert page.locator(".alerts-box li.sev-critical").count() == 0

    rule_page = page.goto(f"{server.url}/rules/INO-05")
    assert rule_page is not None and rule_page.status == 200
    assert "bilirubin" in page.inner_text("main").lower()
