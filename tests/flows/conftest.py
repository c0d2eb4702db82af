"""Fixtures for the flows: a runtime with the fake engine, the demo cohort, a Prefect harness."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from flows.runtime import ReminderPolicy, Runtime, use_runtime
from models.repositories.planning import Route
from pathways.definition import Definition, load_definition
from tests.flows.fakes import RecordingChannel, fake_classifier, fake_evaluator, fake_planner

TZ = "America/New_York"
# Four days before the end of daylight saving time: horizons cross a DST change.
TODAY = date(2026, 10, 28)
NOON = datetime.combine(TODAY, time(12), tzinfo=ZoneInfo(TZ))
ROUTES = (
    Route("coordinator", "file", "coordinators"),
    Route("clinician", "file", "clinicians"),
)


@pytest.fixture(scope="session")
def definition() -> Definition:
    return load_definition()


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
def runtime(engine: Engine, definition: Definition, channel: RecordingChannel) -> Iterator[Runtime]:
    rt = Runtime(
        engine=engine,
        timezone=TZ,
        definition=lambda version: definition,
        clock=lambda: NOON,
        batch_size=10,
        planner=fake_planner,
        evaluator=fake_evaluator,
        classifier=fake_classifier,
        routes=ROUTES,
        channels={"file": channel},
        reminders=ReminderPolicy(max_attempts=3, backoff_seconds=60, lease_seconds=60),
        owner="test-dispatcher",
    )
    with use_runtime(rt):
        yield rt


@pytest.fixture
def cohort(engine: Engine, definition: Definition) -> list[int]:
    """The 25 synthetic patients of the demo, loaded as of TODAY."""
    from carepath.demo.loader import load_cohort
    from models.session import transaction

    with transaction(engine) as session:
        return load_cohort(session, today=TODAY, timezone=TZ, definition=definition)


@pytest.fixture(scope="package")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for these tests (it takes seconds to start).

    Package scope: it stops when the flow tests are done, with Prefect's
    background workers, so nothing of it runs beside the other packages'
    tests (Hypothesis, for one, notices any thread touching ``random``).
    """
    from prefect.testing.utilities import prefect_test_harness

    # Minutes, not seconds: on a busy 2-core machine the server's imports alone take one.
    with prefect_test_harness(server_startup_timeout=300):
        yield
