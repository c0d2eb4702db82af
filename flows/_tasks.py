"""How the flows wrap their IO in Prefect tasks: batched, retried on transient faults, never cached.

A task is one batch of work (a page of patients, a claim of reminders), never
one per patient or row. It retries only what a retry can fix — a dropped
connection, a deadlock, a serialization failure — and never reuses a cached
result: every run must read the database afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from flows._faults import TRANSIENT_SQLSTATES, PageFault, is_transient

__all__ = ["TRANSIENT_SQLSTATES", "PageFault", "io_task", "is_transient"]

P = ParamSpec("P")
R = TypeVar("R")


def _retry_transient(_task: Task[..., Any], _run: TaskRun, state: State[Any]) -> bool:
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False


def io_task(name: str, *, retries: int = 3) -> Callable[[Callable[P, R]], Task[P, R]]:
    """A Prefect task around one batch of IO, retried with backoff on transient database faults."""
    delays: list[float] = [1.0, 5.0, 15.0][:retries]

    def wrap(fn: Callable[P, R]) -> Task[P, R]:
        return task(
            name=name,
            retries=retries,
            retry_delay_seconds=delays or 0,
            retry_condition_fn=_retry_transient,
            cache_policy=NO_CACHE,
            log_prints=False,
            persist_result=False,
        )(fn)

    return wrap
