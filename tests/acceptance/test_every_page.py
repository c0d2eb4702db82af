"""Every page, for every role, with the real `carepath serve` (issue 14 points 9 and 10).

One server, one browser. Each role signs in and visits every page it may
use; on each, axe-core (vendored by axe-playwright-python) reports no
violation of any impact, on a desktop and on a 390 px phone, where the page
is no wider than the screen (tables become cards). A screenshot of each, at
390 px, is kept under ``test-output/acceptance/``. The skip link is the first
stop of the keyboard and lands on the main content. The patient and task
pages print with the patient's name, MRN and date of birth and the print time
on every sheet, and an unacknowledged alert prints with its text.

The admin's journey: deactivate and reactivate a person, change their role,
reset their password, and the person's next sign-in leads to the password
page and nothing else until they have chosen a new one; all audited.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from pypdf import PdfReader

from tests.acceptance.harness import PAGE_TIMEOUT_MS, SHOTS, TODAY, Carepath, User, sign_in
from tests.acceptance.test_liver_safety import patient_on_inotuzumab

pytestmark = [pytest.mark.acceptance, pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
AXE = Axe()


def check_page(page: Any, server: Carepath, path: str, name: str) -> dict[str, int]:
    """Open ``path``; axe at both widths and the width at 390 px. Returns the figures."""
    page.set_viewport_size(DESKTOP)
    answer = page.goto(server.url + path)
    assert answer is not None and answer.status < 500, (path, answer and answer.status)
    figures: dict[str, int] = {}
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        result = AXE.run(page)
        figures[label] = result.violations_count
        assert result.violations_count == 0, f"{path} at {size['width']} px:\n" + (
            result.generate_report()
        )
    width = page.evaluate("document.documentElement.scrollWidth")
    figures["scroll_width"] = int(width)
    assert width <= PHONE["width"], f"{path} lays out {width} px wide on a 390 px screen"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"every-page-{name}.png"), full_page=True)
    return figures


def printed_pages(page: Any) -> list[str]:
    """The current page printed by Chromium: each sheet's text."""
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    page.emulate_media(media="screen")
    return [sheet.extract_text() for sheet in PdfReader(io.BytesIO(pdf)).pages]


FOCUSABLE = """() => [...document.querySelectorAll(
  'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea, summary')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map((e, i) => { e.dataset.probe = i; return i; })"""


def keyboard_reaches_everything(page: Any, server: Carepath, path: str) -> None:
    """The skip link is the first Tab stop and lands on the main content; Tab then reaches
    every visible control, each with a visible focus ring."""
    page.set_viewport_size(DESKTOP)
    page.goto(server.url + path)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.goto(server.url + path)
    controls = page.evaluate(FOCUSABLE)
    reached: set[str] = set()
    for _ in range(len(controls) + 1):
        page.keyboard.press("Tab")
        probe, ring = page.evaluate(
            "[document.activeElement.dataset.probe, getComputedStyle(document.activeElement).outlineStyle]"
        )
        if probe is not None:
            reached.add(probe)
            assert ring != "none", f"no visible focus on control {probe} of {path}"
    assert reached == {str(i) for i in controls}, f"{path}: Tab missed some controls"


def first_link(page: Any, pattern: str) -> str:
    hrefs = page.eval_on_selector_all(
        "main a[href]", "links => links.map(a => a.getAttribute('href'))"
    )
    found = [h for h in hrefs if re.fullmatch(pattern, h)]
    assert found, f"no link like {pattern} on {page.url}"
    return str(found[0])


def visit(
    browser: Any, server: Carepath, user: User, paths: list[str], seen: dict[str, dict[str, int]]
) -> Any:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    sign_in(page, server, user)
    for path in paths:
        name = f"{user.role}-{re.sub(r'[^a-z0-9]+', '-', path.lower()).strip('-') or 'home'}"
        seen[f"{user.role} {path}"] = check_page(page, server, path, name)
    return page


@pytest.mark.timeout(1800)  # about 30 pages, axe twice on each, on a shared 2-core machine
def test_every_page_fits_a_phone_passes_axe_and_prints_the_patient(
    server: Carepath,
    coordinator: User,
    clinician: User,
    quality: User,
    admin: User,
    browser: Any,
) -> None:
    # rule: INO-05 — a bilirubin above 1.5 x ULN on inotuzumab: a critical alert and its task.
    pid = patient_on_inotuzumab(server, coordinator, "Ines Printed")
    with server.api(coordinator) as api:
        stored = api.post(
            f"/patients/{pid}/observations",
            json={
                "observations": [
                    {
                        "code": "total_bilirubin",
                        "value": 3.2,
                        "unit": "mg/dL",
                        "observed_at": f"{TODAY}T08:00:00-05:00",
                    }
                ]
            },
        )
    assert stored.status_code == 201, stored.text
    for job in ("evaluate-results", "plan"):
        assert server.run_job(job).returncode == 0
    [(alert_task,)] = server.rows("SELECT task_id FROM clinical_alert WHERE task_id IS NOT NULL")
    [(coord_task,)] = server.rows(
        "SELECT min(id) FROM care_task WHERE role_queue = 'coordinator' AND patient_id = :p",
        p=pid,
    )
    seen: dict[str, dict[str, int]] = {}

    anonymous = browser.new_context(viewport=DESKTOP).new_page()
    seen["anyone /login"] = check_page(anonymous, server, "/login", "login")
    patient = f"/patients/{pid}"
    page = visit(
        browser,
        server,
        coordinator,
        [
            "/queue",
            "/queue?bucket=overdue",
            "/queue?bucket=upcoming",
            "/queue?bucket=mine",
            "/patients",
            "/patients/new",
            patient,
            f"{patient}/edit",
            f"/tasks/{coord_task}",
            "/account/tokens",
            "/account/password",
            "/patients/999999",  # the error page
        ],
        seen,
    )
    keyboard_reaches_everything(page, server, "/queue")
    keyboard_reaches_everything(page, server, f"/tasks/{coord_task}")
    page.goto(f"{server.url}/account/tokens")
    page.locator("form[action='/account/tokens'] input[name=name]").fill("calendar")
    page.locator("form[action='/account/tokens'] button").click()
    page.wait_for_url(re.compile(r"/account/tokens/issued/"))
    seen["coordinator token issued"] = check_page(
        page, server, page.url.removeprefix(server.url), "coordinator-token-issued"
    )

    page = visit(
        browser,
        server,
        clinician,
        ["/queue", patient, f"/tasks/{alert_task}", "/adherence", "/account/tokens"],
        seen,
    )
    page.goto(server.url + "/adherence")
    drill = first_link(page, r"/adherence/(?!export)[^/?]+(\?.*)?")  # a page, not the export
    seen["clinician drill-down"] = check_page(page, server, drill, "clinician-adherence-drill")

    # Printed: every sheet names the patient and the print time; the alert prints its text.
    page.set_viewport_size(DESKTOP)
    page.goto(server.url + patient)
    sheets = printed_pages(page)
    for sheet in sheets:
        assert "Ines Printed · MRN ACC-INE · born 1968-03-14" in sheet, sheet[:200]
        assert re.search(r"Printed 2026-11-24 10:00 EST", sheet), sheet[:200]
    whole = " ".join(" ".join(sheets).split())  # a narrow column wraps its words
    assert "total bilirubin 3.2 mg/dL" in whole and "not acknowledged" in whole
    print(f"patient page printed on {len(sheets)} sheets")
    page.goto(f"{server.url}/tasks/{alert_task}")
    for sheet in printed_pages(page):
        assert "Ines Printed · MRN ACC-INE · born 1968-03-14" in sheet, sheet[:200]

    visit(browser, server, quality, ["/patients", patient, "/adherence", "/audit"], seen)
    page = visit(
        browser, server, admin, ["/admin/users", "/audit", "/adherence", "/account/tokens"], seen
    )
    keyboard_reaches_everything(page, server, "/admin/users")

    for where, figures in seen.items():
        print(
            f"{where}: axe violations {figures['desktop']} (1366 px), {figures['phone']} (390 px); "
            f"width at 390 px: {figures['scroll_width']} px"
        )


def test_the_admin_deactivates_reactivates_changes_a_role_and_resets_a_password(
    server: Carepath,
    admin: User,
    coordinator: User,
    browser: Any,
    shots: Callable[[Any, str], Path],
) -> None:
    admins = browser.new_context(viewport=PHONE).new_page()  # an admin on a phone
    sign_in(admins, server, admin)
    row = f"#user-{coordinator.username}"

    def act(action: str, done: str, **fields: str) -> None:
        admins.goto(f"{server.url}/admin/users")
        form = admins.locator(f"{row} form[action$='/{action}']")
        for name, value in fields.items():
            if name == "role":
                form.locator("select[name=role]").select_option(value)
            else:
                form.locator(f"input[name={name}]").fill(value)
        form.locator("button").click()
        admins.wait_for_url(re.compile(f"done={done}"))

    act("deactivate", "deactivated")
    person = browser.new_context().new_page()
    person.goto(f"{server.url}/login")
    person.fill("input[name=username]", coordinator.username)
    person.fill("input[name=password]", coordinator.password)
    person.click("button:has-text('Sign in')")
    assert "/login" in person.url  # a deactivated account cannot sign in
    act("reactivate", "reactivated")
    act("role", "role", role="clinician")
    assert "clinician" in admins.locator(row).inner_text()
    shots(admins, "1-role-changed")

    temporary = "a temporary passphrase 42"
    act("password", "reset", password=temporary)
    assert "must set a new password" in admins.locator(row).inner_text()
    shots(admins, "2-password-reset")

    sign_in(person, server, User(coordinator.username, "clinician", temporary))
    assert person.url.endswith("/account/password")
    assert "An administrator reset your password" in person.inner_text("main")
    for elsewhere in ("/queue", "/patients", "/account/tokens"):
        person.goto(server.url + elsewhere)
        assert person.url.endswith("/account/password"), elsewhere  # nothing else until done
    shots(person, "3-must-change")
    mine = "my very own new passphrase"
    person.fill("input[name=current_password]", temporary)
    person.fill("input[name=new_password]", mine)
    person.fill("input[name=new_password_again]", mine)
    person.locator("form[action='/account/password'] button").click()
    person.wait_for_load_state()
    person.goto(f"{server.url}/queue")
    assert person.url.endswith("/queue"), person.url  # now a clinician's queue
    shots(person, "4-queue-after-change")

    audited = server.rows(
        "SELECT action, detail FROM audit_event WHERE entity = 'app_user' AND actor = :a "
        "ORDER BY id",
        a=admin.username,
    )
    assert [a for a, _ in audited] == ["deactivate", "activate", "change_role", "reset_password"]
    assert audited[2][1] == {"from": "coordinator", "to": "clinician"}
    [(changed,)] = server.rows(
        "SELECT count(*) FROM audit_event WHERE action = 'change_password' AND actor = :u",
        u=coordinator.username,
    )
    assert changed == 1
