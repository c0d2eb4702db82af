"""`carepath serve` in each way it is started: defaults, `--workers 2`, Prefect owning the schedules.

Each start mode gets the same journey: the console says where it serves and
who runs the flows; `/readyz` reaches 200 (every job ran: the clock's catch-up
run, or with the Prefect owner the deployments `carepath worker` serves);
every role signs in and opens every page its menu offers, a patient's page
and a task's; an integration uses the REST API with a token (create a
patient, which plans its workup, read it back, claim and release a task).
The time from the start to the sign-in page's first 200 is printed.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from tests.acceptance.harness import CARE_PATH, PAGE_TIMEOUT_MS, Carepath, sign_in
from tests.pathways.factories import case

pytestmark = [pytest.mark.acceptance, pytest.mark.browser, pytest.mark.timeout(1500)]

Launch = Callable[..., AbstractContextManager[Carepath]]


@pytest.fixture(scope="module", params=["default", "workers", "prefect"])
def mode(
    request: pytest.FixtureRequest, carepath: Carepath, launch: Launch
) -> Iterator[tuple[str, Carepath]]:
    name = request.param
    if name == "default":
        yield name, carepath
        return
    if name == "workers":
        with launch("workers", workers=2) as installation:
            yield name, installation
        return
    # Prefect owns the schedules: `carepath serve` runs no clock, `carepath worker` serves the
    # deployments to a Prefect server (here the session installation's, as compose has one).
    env = {"CAREPATH_SCHEDULE_OWNER": "prefect", "PREFECT_API_URL": carepath.prefect_api or ""}
    with launch("prefect", env=env, ready=False) as installation:
        log = open(installation.root / "worker.log", "wb")  # noqa: SIM115 - closed below
        worker = subprocess.Popen(
            [str(CARE_PATH), "worker"],
            env=installation.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            installation.wait_ready()
            yield name, installation
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:  # not ours to judge here; never left running
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
            log.close()


def test_every_role_signs_in_and_opens_every_page_and_the_api_answers(
    mode: tuple[str, Carepath], browser: Any, shots: Callable[[Any, str], Any]
) -> None:
    name, server = mode
    server.fresh()
    console = server.console()
    assert f"serving {server.url}/" in console and f"{server.url}/login" in console
    if name == "prefect":
        assert "Prefect deployments run the flows" in console
        assert "clock is running" not in console
    else:
        assert "the clock is running: 5 jobs" in console and "ready: every job has run" in console
    if name == "workers":
        assert "with 2 worker processes" in console
    print(f"{name}: the sign-in page answered {server.first_answer:.1f} s after the start")

    # An integration: a patient through the API is planned at once; a task is claimed, released.
    coordinator = server.add_user("coordinator")
    with server.api(coordinator) as api:
        created = api.post(
            "/patients", json={"mrn": f"SM-{name}", "display_name": "Mode Probe", "case": case()}
        )
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        for path in ("", "/facts", "/evaluation", "/observations", "/transitions"):
            answer = api.get(f"/patients/{pid}{path}")
            assert answer.status_code == 200, (path, answer.text)
        assert [p["id"] for p in api.get("/patients").json()["items"]] == [pid]
        tasks = api.get("/tasks", params={"bucket": "upcoming", "patient": pid}).json()["items"]
        overdue = api.get("/tasks", params={"bucket": "overdue", "patient": pid}).json()["items"]
        today = api.get("/tasks", params={"bucket": "today", "patient": pid}).json()["items"]
        task = (tasks + overdue + today)[0]["id"]
        # An integrator finds a patient's tasks by MRN, as typed at the desk.
        by_mrn = [
            t["id"]
            for bucket in ("upcoming", "overdue", "today")
            for t in api.get("/tasks", params={"bucket": bucket, "q": f"sm-{name}"}).json()["items"]
        ]
        assert by_mrn and by_mrn == [t["id"] for t in tasks + overdue + today]
        nobody = api.get("/tasks", params={"q": "no such patient"}).json()["counts"]
        assert (nobody["overdue"], nobody["today"], nobody["upcoming"]) == (0, 0, 0)
        claimed = api.post(f"/tasks/{task}/claim")
        assert claimed.status_code == 200 and claimed.json()["owner"] == coordinator.username
        assert api.post(f"/tasks/{task}/release").status_code == 200
        assert api.get("/tasks/999999").status_code == 404
    assert server.rows("SELECT count(*) AS n FROM care_task WHERE patient_id = :p", p=pid)[0].n > 0

    # Every role, every page of its menu, in a browser.
    for role in ("coordinator", "clinician", "quality", "admin"):
        user = coordinator if role == "coordinator" else server.add_user(role)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        try:
            sign_in(page, server, user)
            links = page.locator("nav[aria-label=Main] a").evaluate_all(
                "as => as.map(a => a.pathname)"
            )
            extra = [f"/patients/{pid}"] if role != "admin" else []
            if role in ("coordinator", "clinician"):
                extra += ["/patients/new", f"/tasks/{task}"]
            assert links, role
            for path in [*links, *extra]:
                response = page.goto(f"{server.url}{path}")
                assert response is not None and response.status == 200, (role, path)
                assert "Internal Server Error" not in page.content()
            shots(page, f"{name}-{role}")
        finally:
            context.close()
