"""Fixtures of the acceptance suite: a running carepath, users, a browser, the API.

- ``carepath`` (session): the default installation, `carepath serve` with default
  settings on its own data folder, started once and ready (``/readyz`` 200).
- ``server`` (per test): the same installation, emptied for this journey
  (``Carepath.fresh``): no patients, no users, nothing audited.
- ``launch`` (session): start another installation with other settings,
  ``with launch("name", workers=2, env={...}) as other:``; stopped at the block's end.
- ``coordinator``, ``clinician``, ``quality``, ``admin``: a user of that role,
  created through `carepath user add` on ``server``.
- ``browser``/``page`` (the system Chromium, tests/browser/conftest.py) and
  ``shots``: ``shots(page, "step")`` keeps a full-page screenshot under
  ``test-output/acceptance/``.
- ``sign_in(page, server, user)``, ``server.api(user)`` (an HTTP client with a
  bearer token), ``server.run_job("evaluate-results")`` (one flow run now on the
  server's database), ``server.cli(...)``, ``server.rows(sql)``: see harness.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.harness import SHOTS, Carepath, User
from tests.browser.conftest import browser, page

__all__ = ["browser", "page"]


@pytest.fixture(scope="session")
def launch(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., AbstractContextManager[Carepath]]:
    @contextmanager
    def start(name: str, *, ready: bool = True, **options: Any) -> Iterator[Carepath]:
        installation = Carepath(tmp_path_factory.mktemp(name), **options)
        try:
            yield installation.start(ready=ready)
        finally:
            installation.close()

    return start


@pytest.fixture(scope="session")
def carepath(launch: Callable[..., AbstractContextManager[Carepath]]) -> Iterator[Carepath]:
    with launch("carepath") as installation:
        yield installation


@pytest.fixture
def server(carepath: Carepath) -> Carepath:
    carepath.fresh()
    return carepath


@pytest.fixture
def coordinator(server: Carepath) -> User:
    return server.add_user("coordinator")


@pytest.fixture
def clinician(server: Carepath) -> User:
    return server.add_user("clinician")


@pytest.fixture
def quality(server: Carepath) -> User:
    return server.add_user("quality")


@pytest.fixture
def admin(server: Carepath) -> User:
    return server.add_user("admin")


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
