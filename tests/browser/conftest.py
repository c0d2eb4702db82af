"""A real server on a loopback port and a real Chromium driven by Playwright.

The app runs under uvicorn in a thread against this test's own database, on
the fixed test clock. Chromium is the system package (ENVIRONMENT.md,
Browser tests); screenshots go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.web.support import Web, clock, web

__all__ = ["browser", "clock", "page", "server", "shots", "web"]

CHROMIUM = os.environ.get("CAREPATH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(web: Web) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        web.app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


# Module scope, not session: Playwright's sync API keeps an event loop running in
# the main thread while it is open, and code that asks "am I in async code?"
# (Prefect's sync/async dispatch) would answer yes in every later test module.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make test` (it installs it) or "
            "`apt-get install -y chromium`",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> object:
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: object, name: str, **kwargs: object) -> Path:
        path = SHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True, **kwargs)  # type: ignore[attr-defined]
        return path

    return take
