"""The patient page's labs: a results table and charts over a chosen range of days.

Every test, unit and limit comes from the definition's lab catalogue
(``pathways/core/labs.py``): a flag compares a result against the ULN (or LLN)
the rules use — the laboratory's own, else the local reference range
([DEFAULT] lab_reference_uln / lab_reference_lln).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from markupsafe import Markup
from sqlmodel import Session

from carepath.web.charts import Series, Threshold, line_chart
from carepath.web.format import number
from models.observation import Observation
from models.repositories.audit import Actor
from models.repositories.observations import list_observations
from pathways.clock import start_of_day
from pathways.core.labs import LabCatalogue, Limit
from pathways.definition import Definition

# The range control: days back from today (None: every result kept).
RANGES: dict[str, int | None] = {"14": 14, "45": 45, "90": 90, "all": None}
DEFAULT_RANGE = "45"
TABLE_ROWS = 200


@dataclass(frozen=True, slots=True)
class ResultRow:
    at: datetime
    code: str
    test: str
    value: str
    unit: str
    flag: str  # "high", "low" or ""
    limit: str  # the limit the flag used, and where it came from


def range_key(raw: str | None) -> str:
    return raw if raw in RANGES else DEFAULT_RANGE


def _flag(labs: LabCatalogue, o: Observation, unit: str) -> tuple[str, str]:
    uln: Limit | None = labs.uln_of(o.code, o.uln)
    lln: Limit | None = labs.lln_of(o.code, o.lln)
    if uln is not None and o.value > uln.value:
        return "high", f"above ULN {number(uln.value, unit)}, {uln.description}"
    if lln is not None and o.value < lln.value:
        return "low", f"below LLN {number(lln.value, unit)}, {lln.description}"
    within = [
        f"{name} {number(lim.value, unit)}" for name, lim in (("ULN", uln), ("LLN", lln)) if lim
    ]
    return "", "within " + " / ".join(within) if within else ""


def result_rows(labs: LabCatalogue, observations: list[Observation]) -> list[ResultRow]:
    rows = []
    for o in observations[:TABLE_ROWS]:
        test = labs.tests.get(o.code)
        unit = o.unit if test is None else (test.unit(o.unit) or test.canonical).label
        flag, limit = _flag(labs, o, unit)
        rows.append(
            ResultRow(
                at=o.observed_at,
                code=o.code,
                test=o.code if test is None else test.label,
                value=number(o.value),
                unit=unit,
                flag=flag,
                limit=limit,
            )
        )
    return rows


@dataclass
class LabsView:
    range: str
    rows: list[ResultRow]
    charts: list[Markup]


def load_labs(
    session: Session,
    *,
    patient_id: int,
    actor: Actor,
    definition: Definition,
    today: date,
    tz: str,
    chosen: str,
) -> LabsView:
    labs = definition.labs
    days = RANGES[chosen]
    observations = list_observations(session, patient_id=patient_id, actor=actor, limit=2000)
    end = start_of_day(today + timedelta(days=1), tz)
    if days is None:
        first = min((o.observed_at for o in observations), default=end - timedelta(days=45))
        start = min(first, end - timedelta(days=14))
    else:
        start = start_of_day(today - timedelta(days=days), tz)
    recent = [o for o in observations if start <= o.observed_at <= end]
    return LabsView(
        range=chosen,
        rows=result_rows(labs, recent),
        charts=_charts(labs, definition, recent, start=start, end=end, tz=tz),
    )


def _series(labs: LabCatalogue, code: str, recent: list[Observation]) -> Series:
    test = labs.tests[code]
    return Series(test.label, [(o.observed_at, o.value) for o in recent if o.code == code])


def _charts(
    labs: LabCatalogue,
    definition: Definition,
    recent: list[Observation],
    *,
    start: datetime,
    end: datetime,
    tz: str,
) -> list[Markup]:
    # Liver tests are drawn as multiples of the ULN the INO-05 rule compares them against:
    # their own, else the local reference range of the lab catalogue (one function).
    bilirubin = float(definition.default("ino_hold_bilirubin_x_uln_above"))
    transaminase = float(definition.default("ino_hold_transaminase_x_uln_above"))
    lft_series = []
    for code in labs.panel_tests("lft"):
        points = [
            (o.observed_at, o.value / uln.value)
            for o in recent
            if o.code == code and (uln := labs.uln_of(code, o.uln)) is not None
        ]
        lft_series.append(Series(labs.tests[code].label, points))
    anc, platelets, hb = labs.tests["anc"], labs.tests["platelets"], labs.tests["hemoglobin"]
    chart = partial(line_chart, start=start, end=end, tz=tz)  # the four share the window
    return [
        chart(
            "Liver tests against ULN",
            lft_series,
            [
                Threshold(
                    bilirubin,
                    f"bilirubin {bilirubin:g}×ULN (MON-05, local policy)",
                    f"bili {bilirubin:g}× MON-05",
                ),
                Threshold(
                    transaminase,
                    f"AST/ALT {transaminase:g}×ULN (MON-05, local policy)",
                    f"AST/ALT {transaminase:g}× MON-05",
                ),
            ],
            unit="× ULN",
        ),
        chart(
            "White cells (WBC, ANC)",
            [_series(labs, "wbc", recent), _series(labs, anc.code, recent)],
            [
                Threshold(1000, "ANC 1,000 /µL: CR (DEF-03)", "1,000 CR DEF-03"),
                Threshold(500, "ANC 500 /µL: CRh (DEF-04)", "500 CRh DEF-04"),
            ],
            unit=anc.canonical.label,
        ),
        chart(
            "Platelets",
            [_series(labs, platelets.code, recent)],
            [
                Threshold(100000, "100,000 /µL: CR (DEF-03)", "100k CR DEF-03"),
                Threshold(50000, "50,000 /µL: CRh (DEF-04); LP (MON-22)", "50k CRh; LP"),
            ],
            unit=platelets.canonical.label,
        ),
        chart(
            "Hemoglobin",
            [_series(labs, hb.code, recent)],
            unit=hb.canonical.label,
        ),
    ]
