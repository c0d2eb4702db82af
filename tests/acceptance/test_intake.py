"""Journey a — intake: a coordinator adds a patient and works the workup tasks that appear.

The real `carepath serve`, a real Chromium, the clinic's clock fixed at
``harness.NOW``. Intake plans the new patient at once (WU-01..29: the workup
checklist at r/r diagnosis), so the tasks are in the coordinator's queue when
the patient page opens; the coordinator claims one and completes it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.acceptance.harness import Carepath, User, sign_in

pytestmark = [pytest.mark.acceptance, pytest.mark.browser, pytest.mark.timeout(900)]

INTAKE = {
    "mrn": "ACC-0001",
    "display_name": "Ada Intake",
    "birth_date": "1968-03-14",
    "lineage": "B",
    "cd19": "positive",
    "cd22": "positive",
    "status": "relapsed",
    "initial_diagnosis_date": "2024-02-01",
    "relapse_dates": "2026-11-16",
}


def add_patient(page: Any, server: Carepath, values: dict[str, str]) -> None:
    page.goto(f"{server.url}/patients/new")
    for name, value in values.items():
        field = page.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.click("button:has-text('Add patient')")
    page.wait_for_load_state()


def test_a_coordinator_adds_a_patient_and_works_a_workup_task(
    server: Carepath, coordinator: User, page: Any, shots: Any
) -> None:
    sign_in(page, server, coordinator)
    add_patient(page, server, INTAKE)
    shots(page, "1-patient-page")
    assert "/patients/" in page.url, page.inner_text("main")
    pid = int(page.url.split("/patients/")[1].split("?")[0])

    # What intake wrote, in the database the server uses.
    patient = server.rows("SELECT mrn, display_name FROM patient WHERE id = :id", id=pid)
    assert [tuple(r) for r in patient] == [("ACC-0001", "Ada Intake")]
    planned = server.rows(
        "SELECT id, title, rule_id, role_queue, status FROM care_task "
        "WHERE patient_id = :id AND kind <> 'data_problem' ORDER BY due, id",
        id=pid,
    )
    workup = [r for r in planned if r.rule_id.startswith("WU-")]
    assert len(workup) >= 10, [r.rule_id for r in planned]  # the checklist, not one stray task
    assert {r.status for r in planned} == {"requested"}
    coordinator_tasks = [r for r in planned if r.role_queue == "coordinator"]
    assert {r.rule_id for r in workup} & {r.rule_id for r in coordinator_tasks}

    # The patient page lists them at once: nothing to wait for.
    tasks = page.locator("#tasks tbody tr")
    assert tasks.count() == len(planned)
    assert coordinator_tasks[0].title in page.inner_text("#tasks")

    # The coordinator's queue shows them (due today or within the next days).
    shown: list[str] = []
    for bucket in ("overdue", "missed", "today", "upcoming"):
        page.goto(f"{server.url}/queue?bucket={bucket}&patient={pid}")
        shown += page.locator("table.queue tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.task)"
        )
    assert sorted(int(t) for t in shown) == sorted(r.id for r in coordinator_tasks)
    first = next(r for r in coordinator_tasks if r.rule_id.startswith("WU-"))
    for bucket in ("overdue", "missed", "today", "upcoming"):
        page.goto(f"{server.url}/queue?bucket={bucket}&patient={pid}")
        if page.locator(f"tr[data-task='{first.id}']").count():
            break
    shots(page, "2-queue")

    # Claim it from the queue, then complete it on its page.
    page.locator(f"tr[data-task='{first.id}'] button:has-text('Claim')").click()
    page.wait_for_load_state()
    page.goto(f"{server.url}/tasks/{first.id}")
    assert f"held by {coordinator.username}" in page.inner_text("main") or (
        "Complete task" in page.inner_text("main")
    )
    fill_result_fields(page)
    shots(page, "3-task-filled")
    page.click("button:has-text('Complete task')")
    page.wait_for_load_state()
    shots(page, "4-completed")
    done = server.rows("SELECT status, completed_by FROM care_task WHERE id = :id", id=first.id)
    assert [tuple(r) for r in done] == [("completed", coordinator.username)], page.inner_text(
        "main"
    )

    # The queue no longer offers it; the patient page lists it closed, by whom.
    page.goto(f"{server.url}/queue?bucket=mine")
    assert page.locator(f"tr[data-task='{first.id}']").count() == 0
    page.goto(f"{server.url}/patients/{pid}")
    page.click("#closed-tasks summary")
    closed = page.inner_text("#closed-tasks")
    assert first.title in closed and coordinator.username in closed
    audit = server.rows(
        "SELECT action FROM audit_event WHERE actor = :u AND patient_id = :p",
        u=coordinator.username,
        p=pid,
    )
    assert {"create", "claim", "complete"} <= {r.action for r in audit}


def fill_result_fields(page: Any) -> None:
    """Answer whatever result the task asks for (its first choice, yes, or a number)."""
    form = page.locator("form[action$='/complete']")
    for select in form.locator("select").all():
        options = [o for o in select.locator("option").all() if o.get_attribute("value")]
        select.select_option(options[0].get_attribute("value"))
    for field in form.locator("input:not([type=hidden])").all():
        field.fill("1" if field.get_attribute("inputmode") == "decimal" else "done")
