"""A patient taken in is planned at once: the workup tasks are in the queue when the page opens.

The periodic ``plan_care`` would find a new patient within its five minutes;
a coordinator who has just added one should not have to wait for it, nor
wonder whether anything happened. Intake (the form and the API) plans the
patient in its own transaction — the patient and the tasks are written
together or not at all — with the function ``plan_care`` runs for each page
(``flows.plan_core.plan_patients``), so the next periodic run finds the
patient's plan unchanged.
"""

from __future__ import annotations

from fastapi import Request
from sqlmodel import Session

from carepath.web.deps import clinic_date, now, settings
from flows.runtime import Runtime
from models.repositories.plan_writes import PlanCounts


def _runtime(request: Request) -> Runtime:
    runtime: Runtime | None = getattr(request.app.state, "plan_runtime", None)
    if runtime is None:
        from carepath.runtime import build_runtime

        runtime = request.app.state.plan_runtime = build_runtime(settings(request))
    return runtime


def plan_new_patient(request: Request, session: Session, patient_id: int) -> PlanCounts:
    from flows.plan_core import plan_patients

    return plan_patients(
        session,
        _runtime(request),
        patient_ids=[patient_id],
        as_of=clinic_date(request),
        now=now(request),
    )
