"""REST API v1: lab results (read and record) and the lab catalogue they are checked against.

A result is checked against the catalogue (``pathways.core.labs``: the test,
its units, its plausible range, the laboratory's ULN and LLN) before anything
is written; one bad result in a request writes none.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from carepath.pathway import definition_for
from carepath.web.api_body import Strict
from carepath.web.deps import CARE_TEAM, DB, READERS, actor_of, allow, now, settings
from carepath.web.params import RecordId
from carepath.web.problems import InvalidInput
from models.observation import ObservationCreate, ObservationPublic
from models.repositories.observations import add_observations, list_observations
from models.repositories.patients import get_record
from models.repositories.users import Principal
from pathways.core.labs import SKEW_SETTING, LabValueRefused

router = APIRouter(prefix="/api/v1", tags=["lab results"])

Reader = Annotated[Principal, allow(*READERS)]
Worker = Annotated[Principal, allow(*CARE_TEAM)]


class ObservationIn(Strict):
    code: str = Field(
        max_length=40,
        description="A test of the lab catalogue: its code (e.g. total_bilirubin), "
        "an alias or its LOINC code (e.g. 1975-2); GET /api/v1/labs lists them",
    )
    value: float = Field(description="The value as reported, in `unit`")
    unit: str = Field(
        max_length=20, description="One of the test's accepted units (UCUM, e.g. 10*3/uL)"
    )
    uln: float | None = Field(default=None, description="The laboratory's ULN, in `unit`")
    lln: float | None = Field(default=None, description="The laboratory's LLN, in `unit`")
    observed_at: AwareDatetime


class ObservationsIn(Strict):
    observations: list[ObservationIn] = Field(min_length=1, max_length=500)


class LabUnitOut(BaseModel):
    code: str = Field(description="UCUM code")
    label: str


class LabLimitOut(BaseModel):
    value: float
    source: str
    setting: str | None


class LabTestOut(BaseModel):
    code: str
    label: str
    display: str
    loinc: str | None
    aliases: list[str]
    unit: str = Field(description="The canonical UCUM unit: values are stored and compared in it")
    units: list[LabUnitOut] = Field(description="The units a value may be sent in")
    plausible: dict[str, float] = Field(description="low and high, in the canonical unit")
    uln: LabLimitOut | None = Field(description="The local reference ULN, when one is kept")
    lln: LabLimitOut | None
    rule_ids: list[str]


class LabCatalogueOut(BaseModel):
    tests: list[LabTestOut]
    panels: dict[str, list[str]]


def _limit(limit: Any) -> LabLimitOut | None:
    return (
        None
        if limit is None
        else LabLimitOut(value=limit.value, source=limit.source, setting=limit.setting)
    )


@router.get("/labs", response_model=LabCatalogueOut)
def api_labs(request: Request, principal: Reader) -> LabCatalogueOut:
    """The lab catalogue: every test the tracker reads, its codes, units and reference range."""
    labs = definition_for(settings(request)).labs
    return LabCatalogueOut(
        tests=[
            LabTestOut(
                code=t.code,
                label=t.label,
                display=t.display,
                loinc=t.loinc,
                aliases=list(t.aliases),
                unit=t.canonical.code,
                units=[LabUnitOut(code=u.code, label=u.label) for u in t.units],
                plausible={"low": t.low, "high": t.high},
                uln=_limit(t.uln),
                lln=_limit(t.lln),
                rule_ids=list(t.rule_ids),
            )
            for t in labs.tests.values()
        ],
        panels={name: list(p.tests) for name, p in labs.panels.items() if p.tests},
    )


@router.get("/patients/{patient_id}/observations", response_model=list[ObservationPublic])
def api_observations(
    request: Request,
    session: DB,
    principal: Reader,
    patient_id: RecordId,
    code: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[ObservationPublic]:
    get_record(session, patient_id=patient_id, actor=actor_of(principal, request))
    rows = list_observations(
        session, patient_id=patient_id, actor=actor_of(principal, request), codes=code, limit=limit
    )
    return [ObservationPublic.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/patients/{patient_id}/observations",
    response_model=list[ObservationPublic],
    status_code=201,
)
def api_add_observations(
    request: Request, session: DB, principal: Worker, patient_id: RecordId, body: ObservationsIn
) -> list[ObservationPublic]:
    """Record lab results; all are validated first, and one bad result writes none.

    Each value is converted to its test's canonical unit and stored beside the
    value and unit as sent. Refused with 422, naming each field: an unknown
    test or unit, a value that is not a finite number, negative, or outside
    the test's plausible range, and a result time before 1900 or in the future.
    """
    definition = definition_for(settings(request))
    labs = definition.labs
    skew = timedelta(minutes=float(definition.default(SKEW_SETTING)))
    rows: list[ObservationCreate] = []
    problems: dict[str, str] = {}
    for i, o in enumerate(body.observations):
        try:
            m = labs.measure(o.code, o.value, o.unit, uln=o.uln, lln=o.lln)
        except LabValueRefused as exc:
            problems |= {f"observations[{i}].{part}": text for part, text in exc.problems.items()}
            m = None
        late = labs.result_time_problem(o.observed_at, now=now(request), skew=skew)
        if late:
            problems[f"observations[{i}].observed_at"] = late
        if m is not None:
            rows.append(ObservationCreate.measured(m, at=o.observed_at, source="api"))
    if problems:
        raise InvalidInput(problems)
    actor = actor_of(principal, request)
    get_record(session, patient_id=patient_id, actor=actor)
    stored = add_observations(session, patient_id=patient_id, observations=rows, actor=actor)
    return [ObservationPublic.model_validate(r, from_attributes=True) for r in stored]
