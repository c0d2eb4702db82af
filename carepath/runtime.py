"""The flows' runtime, built from the settings: how the shell plugs into ``flows``.

`carepath plan`, `serve` and `worker` install it with ``flows.runtime.configure``;
a Prefect worker's flow-run processes build it again from the environment
through ``CAREPATH_FLOW_RUNTIME=carepath.runtime:build_runtime``.
"""

from __future__ import annotations

from functools import partial

from carepath import timeutil
from carepath.channels import build_channels, routes_from_settings
from carepath.database import get_engine
from carepath.pathway import active_definition, definition_for
from carepath.settings import Settings, get_settings
from flows.runtime import ReminderPolicy, Runtime
from models.repositories.escalation import EscalationPolicy
from pathways.engine import Policy, escalation_grace_hours

FACTORY = "carepath.runtime:build_runtime"


def build_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or get_settings()
    return Runtime(
        engine=get_engine(settings),
        timezone=settings.timezone,
        definition=active_definition,
        clock=timeutil.now,
        batch_size=settings.batch_size,
        routes=routes_from_settings(settings),
        channels=build_channels(settings),
        reminders=ReminderPolicy(
            max_attempts=settings.reminder_max_attempts,
            backoff_seconds=settings.reminder_backoff_seconds,
            backoff_cap_seconds=settings.reminder_backoff_cap_seconds,
            lease_seconds=settings.reminder_lease_seconds,
        ),
        # The active definition's [DEFAULT], with the policy file's override.
        escalation=EscalationPolicy(
            grace_hours=escalation_grace_hours(Policy(definition_for(settings)))
        ),
        plan_processes=settings.plan_processes,
        # Worker processes build the same runtime from the same settings.
        rebuild=partial(build_runtime, settings),
    )
