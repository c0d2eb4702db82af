"""plan_care's pages in planning worker processes: the same rows as in-process, faults that keep their nature."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterator
from functools import partial

import pytest
from sqlalchemy import Engine, text

from flows._faults import PageFault, is_transient
from flows.plan_core import pages, plan_all, run_page, shutdown_pool, summarize
from flows.runtime import Runtime
from tests.flows.conftest import NOON, TODAY
from tests.flows.fakes import rebuild_fake_runtime
from tests.flows.test_plan_care import expected_rows, reminder_keys, task_state


@pytest.fixture
def in_workers(runtime: Runtime, database_url: str) -> Iterator[Runtime]:
    """The test runtime, with two planning workers that rebuild it from the database URL."""
    rt = dataclasses.replace(
        runtime, plan_processes=2, rebuild=partial(rebuild_fake_runtime, database_url)
    )
    yield rt
    shutdown_pool()


def _plan_pages(rt: Runtime) -> dict:
    return summarize(
        [run_page(rt, after_id=a, last_id=b, as_of=TODAY, now=NOON) for a, b in pages(rt)], TODAY
    )


def test_pages_planned_in_workers_write_what_the_engine_plans_and_nothing_twice(
    in_workers: Runtime, runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    first = _plan_pages(in_workers)
    assert first["patients"] == 25 and first["batches"] == 3 and first["created"] > 0
    # The pages really ran in other processes (they report their memory; this one does not).
    assert first["worker_peak_rss_mb"] > 0
    with engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT dedupe_key, plan_hash FROM care_task")).all())
        audit_rows = conn.execute(
            text(
                "SELECT count(DISTINCT patient_ids) FROM audit_event WHERE actor = 'flow:plan_care'"
            )
        ).scalar_one()
    assert keys == expected_rows(runtime, engine)
    assert audit_rows == 3  # one audit row per page
    state, reminders = task_state(engine), reminder_keys(engine)

    again = _plan_pages(in_workers)
    assert again["skipped"] == 25
    assert again["created"] == again["updated"] == again["cancelled"] == again["reminders"] == 0
    assert task_state(engine) == state and reminder_keys(engine) == reminders
    # In-process planning agrees: nothing left to do.
    assert plan_all(runtime, as_of=TODAY, now=NOON)["created"] == 0


def test_a_pool_that_cannot_start_falls_back_to_planning_in_process(
    runtime: Runtime, database_url: str, engine: Engine, cohort: list[int], caplog
) -> None:
    rt = dataclasses.replace(
        runtime, plan_processes=2, rebuild=partial(rebuild_fake_runtime, database_url, True)
    )
    try:
        stats = _plan_pages(rt)
    finally:
        shutdown_pool()
    assert stats["patients"] == 25 and stats["created"] > 0
    assert stats["worker_peak_rss_mb"] == 0  # every page ran here
    assert "planning workers failed" in caplog.text
    with engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT dedupe_key, plan_hash FROM care_task")).all())
    assert keys == expected_rows(runtime, engine)


def test_without_a_rebuild_factory_pages_run_in_process(
    runtime: Runtime, cohort: list[int]
) -> None:
    rt = dataclasses.replace(runtime, plan_processes=2, rebuild=None)
    stats = _plan_pages(rt)
    assert stats["created"] > 0 and stats["worker_peak_rss_mb"] == 0


@pytest.mark.parametrize("transient", [True, False])
def test_a_page_fault_survives_pickling_with_its_nature(transient: bool) -> None:
    sent = pickle.dumps(PageFault("OperationalError: server closed", transient))
    fault = pickle.loads(sent)  # noqa: S301 (our own bytes, as a worker sends them)
    assert isinstance(fault, PageFault)
    assert str(fault) == "OperationalError: server closed"
    assert is_transient(fault) is transient
