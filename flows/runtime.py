"""What a flow needs from the application it runs in, handed in rather than imported.

``flows`` sits below the application shell (``carepath``): it may not import
its settings, channels or clock. The shell builds a ``Runtime`` — database
engine, the clinic's zone, the pathway definitions, the engine functions (from
the door, ``pathways.engine``), the reminder channels and routes, the
operational policies and a clock — and
installs it with ``configure``. Tests install one with fakes, so flow logic
runs without the engine, a network or the wall clock.

A Prefect worker runs each flow run in a fresh process where nothing has been
installed; there ``current_runtime`` builds one with the factory named by the
``CAREPATH_FLOW_RUNTIME`` environment variable (``module:function``), which
`carepath worker` sets for its children.
"""

from __future__ import annotations

import importlib
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import Engine

from models.repositories.escalation import EscalationPolicy
from models.repositories.outbox import OutboundMessage
from models.repositories.planning import Route
from pathways import engine as door
from pathways.clock import local_date, zone
from pathways.decisions import Alert, PlannedTask, ResponseSuggestion
from pathways.definition import Definition
from pathways.engine import Policy
from pathways.facts import CaseFacts

RUNTIME_FACTORY_ENV = "CAREPATH_FLOW_RUNTIME"

Planner = Callable[[CaseFacts, Definition, Policy], Sequence[PlannedTask]]
Evaluator = Callable[[CaseFacts, Definition, Policy], Sequence[Alert]]
Classifier = Callable[[CaseFacts, Policy], ResponseSuggestion | None]


class Channel(Protocol):
    """Sends one reminder; raises on failure (``permanent = True`` on the error: do not retry)."""

    name: str

    def send(self, message: OutboundMessage) -> str | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ReminderPolicy:
    max_attempts: int = 6
    backoff_seconds: float = 60.0
    backoff_cap_seconds: float = 3600.0
    lease_seconds: float = 300.0
    claim_batch: int = 100

    def retry_at(self, attempt: int, now: datetime, *, permanent: bool = False) -> datetime | None:
        """When to try again after failed attempt number ``attempt``; None = give up."""
        if permanent or attempt >= self.max_attempts:
            return None
        delay = min(self.backoff_seconds * 2 ** (attempt - 1), self.backoff_cap_seconds)
        return now + timedelta(seconds=delay)


@dataclass(frozen=True, slots=True)
class RunClock:
    """The instant a run acts at and the clinic day it plans for."""

    now: datetime
    as_of: date


# The engine's parts, from the door (tests hand in fakes instead).
engine_planner: Planner = door.plan
engine_evaluator: Evaluator = door.monitor
engine_classifier: Classifier = door.classify


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Runtime:
    engine: Engine
    timezone: str
    definition: Callable[[str | None], Definition]
    clock: Callable[[], datetime]
    batch_size: int = 2000
    planner: Planner = engine_planner
    evaluator: Evaluator = engine_evaluator
    classifier: Classifier = engine_classifier
    routes: tuple[Route, ...] = ()
    channels: Mapping[str, Channel] = field(default_factory=dict)
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    # The escalation grace of the definition's defaults (escalation_grace_hours).
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    # The engine plans [as_of - past, as_of + future]; open planned tasks due in
    # that range and no longer planned are cancelled, older ones are left alone.
    horizon_days: tuple[int, int] = (14, 90)
    owner: str = field(default_factory=default_owner)
    # plan_care plans its pages in this many worker processes (flows.plan_core);
    # 0, or no ``rebuild``, plans them in the flow's own threads.
    plan_processes: int = 0
    # A picklable factory of an equal runtime, called once in each worker process.
    rebuild: Callable[[], Runtime] | None = None

    def at(self, as_of: date | None = None, now: datetime | None = None) -> RunClock:
        """Resolve a run's clock: ``now`` wins; a bare ``as_of`` means noon of that clinic day."""
        if now is not None:
            if now.tzinfo is None:
                raise ValueError("now must be timezone-aware")
            return RunClock(now=now, as_of=as_of or local_date(now, self.timezone))
        if as_of is not None:
            return RunClock(
                now=datetime.combine(as_of, time(12), tzinfo=zone(self.timezone)), as_of=as_of
            )
        current = self.clock()
        return RunClock(now=current, as_of=local_date(current, self.timezone))

    def horizon(self, as_of: date) -> tuple[datetime, datetime]:
        past, future = self.horizon_days
        tz = zone(self.timezone)
        start = datetime.combine(as_of - timedelta(days=past), time.min, tzinfo=tz)
        end = datetime.combine(as_of + timedelta(days=future + 1), time.min, tzinfo=tz)
        return start, end


_current: Runtime | None = None


def configure(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current_runtime() -> Runtime:
    if _current is None:
        factory = os.environ.get(RUNTIME_FACTORY_ENV)
        if not factory:
            raise RuntimeError(
                "no flow runtime configured: run the flows through `carepath` "
                f"(plan, serve, worker) or set {RUNTIME_FACTORY_ENV}=module:function"
            )
        module, _, name = factory.partition(":")
        built: Runtime = getattr(importlib.import_module(module), name or "build_runtime")()
        configure(built)
        return built
    return _current


@contextmanager
def use_runtime(runtime: Runtime) -> Iterator[Runtime]:
    global _current
    previous, _current = _current, runtime
    try:
        yield runtime
    finally:
        _current = previous
