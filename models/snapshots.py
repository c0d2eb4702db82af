"""Rows → engine facts, a batch at a time.

Flows and commands never pass ORM rows into ``pathways``: they load a batch of
patients here as frozen ``CaseFacts`` values (a fixed number of set-based
queries per batch, whatever its size) and hand those to the engine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import Integer, Row, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import CollectionAggregate
from sqlmodel import Session, col

from models.observation import Observation
from models.pathway import PathwayInstance
from models.pathway import ResponseAssessmentRecord as ResponseRow
from models.patient import (
    DiseaseFacts as DiseaseRow,
)
from models.patient import (
    DiseaseHistory,
    Medication,
    Patient,
    PriorTherapy,
    Relapse,
)
from models.sql import table_of
from pathways.clock import local_date, start_of_day
from pathways.engine import contradictions
from pathways.facts import (
    CaseFacts,
    CentreFacts,
    Course,
    DiseaseFacts,
    FitnessFacts,
    HistoryFacts,
    LabResult,
    Mrd,
    PatientFacts,
    ResponseAssessment,
    SignedResponse,
    StoppedMedication,
)
from pathways.vocab import (
    Antigen,
    CnsStatus,
    CoursePhase,
    FitnessCategory,
    Goal,
    HctEligible,
    Jurisdiction,
    Lineage,
    Phase,
    ResponseCategory,
    RRStatus,
    Sex,
)

# How far back lab results are loaded for the monitoring rules; older values
# do not decide anything the rules of §7 look at.
LAB_LOOKBACK_DAYS = 45

_E = TypeVar("_E", bound=Enum)
# A row of a multi-column select, read by column name.
_Row = Row[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Snapshot:
    patient_id: int
    instance_id: int | None
    pathway_version: str | None
    course_id: int | None
    cns_track: str | None
    testis_track: str | None
    facts: CaseFacts


@dataclass(frozen=True, slots=True)
class SnapshotProblem:
    """A patient whose stored facts cannot become engine facts (reported, not fatal)."""

    patient_id: int
    problem: str


def _any(ids: list[int]) -> CollectionAggregate[Any]:
    """``= ANY(:ids)`` with one array parameter: a batch of thousands of ids stays one bind."""
    return any_(bindparam("ids", ids, type_=ARRAY(Integer)))


def _enum(kind: type[_E], value: str | None) -> _E | None:
    return None if value is None else kind(value)


@dataclass(frozen=True, slots=True)
class _Batch:
    """What a batch of patients holds besides its base rows, by patient id (one query each)."""

    relapses: dict[int, list[date]]
    therapies: dict[int, list[str]]
    fitness: dict[int, FitnessFacts]
    courses: dict[int, tuple[int, Course]]
    labs: dict[int, list[LabResult]]
    medications: dict[int, list[str]]
    stopped: dict[int, list[StoppedMedication]]
    assessments: dict[int, ResponseAssessment]
    signed: dict[int, SignedResponse]


def load_snapshots(
    session: Session,
    *,
    patient_ids: Sequence[int],
    as_of: date,
    timezone: str,
    jurisdiction: Jurisdiction | None = None,
    centre: CentreFacts | None = None,
    refuse_contradictions: bool = True,
) -> tuple[list[Snapshot], list[SnapshotProblem]]:
    """Facts of the given patients as of ``as_of``; patients with unusable data come back as problems.

    Stored facts that contradict each other (``pathways.consistency``) are
    unusable too: the engine never advises on them. A door checking what it is
    about to store passes ``refuse_contradictions=False`` to see them.
    """
    ids = list(patient_ids)
    if not ids:
        return [], []
    centre = centre or CentreFacts()
    base = _base_rows(session, ids)
    batch = _load_batch(session, ids, as_of=as_of, timezone=timezone)
    snapshots: list[Snapshot] = []
    problems: list[SnapshotProblem] = []
    for row in base:
        try:
            facts = _case_facts(
                row, batch, as_of=as_of, timezone=timezone, jurisdiction=jurisdiction, centre=centre
            )
        except _Unusable as exc:
            problems.append(SnapshotProblem(row.pid, str(exc)))
            continue
        found = contradictions(facts, dated=False) if refuse_contradictions else []
        if found:
            problems.append(
                SnapshotProblem(
                    row.pid, "facts contradict each other: " + "; ".join(str(c) for c in found)
                )
            )
            continue
        snapshots.append(_snapshot(row, batch, facts))
    snapshots.sort(key=lambda s: s.patient_id)
    return snapshots, problems


class _Unusable(Exception):
    """A patient's stored facts cannot become engine facts; the message says why."""


def _base_rows(session: Session, ids: list[int]) -> Sequence[_Row]:
    """One row per patient: the patient, disease facts, history and the open pathway instance."""
    p_t, d_t = table_of(Patient), table_of(DiseaseRow)
    h_t, i_t = table_of(DiseaseHistory), table_of(PathwayInstance)
    p, d, h, i = p_t.c, d_t.c, h_t.c, i_t.c
    return session.execute(
        select(
            p.id.label("pid"),
            p.birth_date,
            p.sex_at_birth,
            p.has_testes,
            p.reproductive_potential,
            p.weight_kg,
            p.height_cm,
            p.goal,
            p.declines_therapy,
            d.lineage,
            d.cd19,
            d.cd22,
            d.cd20,
            d.ph_positive,
            d.abl1_kinase_mutations,
            d.kmt2a_rearranged,
            d.cns_status,
            d.testicular_involvement,
            d.marrow_blast_pct,
            d.peripheral_blasts_per_ul,
            h.status,
            h.initial_diagnosis_date,
            h.initial_treatment_start_date,
            h.rr_diagnosis_date,
            h.prior_therapies_recorded,
            h.prior_allogeneic_hct_date,
            i.id.label("instance_id"),
            i.pathway_version,
            i.phase,
            i.cns_track,
            i.testis_track,
        )
        .select_from(p_t)
        .outerjoin(d_t, d.patient_id == p.id)
        .outerjoin(h_t, h.patient_id == p.id)
        .outerjoin(i_t, (i.patient_id == p.id) & i.ended_at.is_(None))
        .where(p.id == _any(ids))
    ).all()


def _load_batch(session: Session, ids: list[int], *, as_of: date, timezone: str) -> _Batch:
    medications, stopped = _medications(session, ids, as_of)
    assessments, signed = _responses(session, ids)
    return _Batch(
        relapses=_relapses(session, ids),
        therapies=_therapies(session, ids),
        fitness=_fitness(session, ids, timezone),
        courses=_courses(session, ids),
        labs=_labs(session, ids, as_of=as_of, timezone=timezone),
        medications=medications,
        stopped=stopped,
        assessments=assessments,
        signed=signed,
    )


def _relapses(session: Session, ids: list[int]) -> dict[int, list[date]]:
    relapses: dict[int, list[date]] = defaultdict(list)
    for pid, when in session.execute(
        select(col(Relapse.patient_id), col(Relapse.relapse_date))
        .where(col(Relapse.patient_id) == _any(ids))
        .order_by(col(Relapse.patient_id), col(Relapse.relapse_date))
    ):
        relapses[pid].append(when)
    return relapses


def _therapies(session: Session, ids: list[int]) -> dict[int, list[str]]:
    therapies: dict[int, list[str]] = defaultdict(list)
    for pid, therapy in session.execute(
        select(col(PriorTherapy.patient_id), col(PriorTherapy.therapy))
        .where(col(PriorTherapy.patient_id) == _any(ids))
        .order_by(col(PriorTherapy.patient_id), col(PriorTherapy.id))
    ):
        therapies[pid].append(therapy)
    return therapies


def _fitness(session: Session, ids: list[int], timezone: str) -> dict[int, FitnessFacts]:
    """The latest fitness assessment of each patient."""
    fitness: dict[int, FitnessFacts] = {}
    for row in session.execute(
        text(
            "SELECT DISTINCT ON (patient_id) patient_id, category, ecog, hct_eligible, assessed_at "
            "FROM fitness_assessment WHERE patient_id = ANY(:ids) "
            "ORDER BY patient_id, assessed_at DESC, id DESC"
        ),
        {"ids": ids},
    ):
        fitness[row.patient_id] = FitnessFacts(
            category=FitnessCategory(row.category),
            ecog=row.ecog,
            hct_eligible=HctEligible(row.hct_eligible),
            # FIT on the clinic's calendar (a UTC date is the next day every evening).
            assessed_on=local_date(row.assessed_at, timezone),
        )
    return fitness


def _courses(session: Session, ids: list[int]) -> dict[int, tuple[int, Course]]:
    """The active course of each patient, with its row id."""
    courses: dict[int, tuple[int, Course]] = {}
    for row in session.execute(
        text(
            "SELECT DISTINCT ON (patient_id) id, patient_id, regimen, phase, cycle_number, "
            "anchor_date, prephase_start, cycle_length_days, last_dose_date "
            "FROM course WHERE patient_id = ANY(:ids) AND status = 'active' "
            "ORDER BY patient_id, anchor_date DESC, id DESC"
        ),
        {"ids": ids},
    ):
        courses[row.patient_id] = (
            row.id,
            Course(
                regimen=row.regimen,
                cycle=row.cycle_number,
                cycle_start=row.anchor_date,
                phase=CoursePhase(row.phase),
                ref=f"course{row.id}",
                prephase_start=row.prephase_start,
                cycle_length_days=row.cycle_length_days,
                last_dose_date=row.last_dose_date,
            ),
        )
    return courses


def _labs(
    session: Session, ids: list[int], *, as_of: date, timezone: str
) -> dict[int, list[LabResult]]:
    """Lab results of the last LAB_LOOKBACK_DAYS clinic days up to the end of ``as_of``."""
    since = start_of_day(as_of - timedelta(days=LAB_LOOKBACK_DAYS), timezone)
    until = start_of_day(as_of + timedelta(days=1), timezone)
    labs: dict[int, list[LabResult]] = defaultdict(list)
    o = table_of(Observation).c
    for row in session.execute(
        select(o.patient_id, o.code, o.value, o.unit, o.uln, o.lln, o.observed_at)
        .where(o.patient_id == _any(ids), o.observed_at >= since, o.observed_at < until)
        .order_by(o.patient_id, o.observed_at, o.id)
    ):
        labs[row.patient_id].append(
            LabResult(
                test=row.code,
                value=row.value,
                unit=row.unit,
                at=row.observed_at,
                uln=row.uln,
                lln=row.lln,
            )
        )
    return labs


def _medications(
    session: Session, ids: list[int], as_of: date
) -> tuple[dict[int, list[str]], dict[int, list[StoppedMedication]]]:
    """Medications taken on ``as_of``, and those stopped by then."""
    medications: dict[int, list[str]] = defaultdict(list)
    stopped: dict[int, list[StoppedMedication]] = defaultdict(list)
    for pid, name, stopped_on in session.execute(
        select(col(Medication.patient_id), col(Medication.name), col(Medication.stopped_on))
        .where(col(Medication.patient_id) == _any(ids))
        .order_by(col(Medication.patient_id), col(Medication.id))
    ):
        if stopped_on is None or stopped_on > as_of:
            medications[pid].append(name)
        else:
            stopped[pid].append(StoppedMedication(name, stopped_on))
    return medications, stopped


def _case_facts(
    row: _Row,
    batch: _Batch,
    *,
    as_of: date,
    timezone: str,
    jurisdiction: Jurisdiction | None,
    centre: CentreFacts,
) -> CaseFacts:
    """One patient's engine facts; raises ``_Unusable`` when the stored values cannot be."""
    pid = row.pid
    if row.lineage is None or row.status is None:
        missing = "disease facts" if row.lineage is None else "disease history"
        raise _Unusable(f"{missing} not recorded")
    course = batch.courses.get(pid)
    try:
        return CaseFacts(
            as_of=as_of,
            timezone=timezone,
            jurisdiction=jurisdiction,
            patient=_patient_facts(row),
            disease=_disease_facts(row),
            history=_history_facts(row, batch),
            fitness=batch.fitness.get(pid, FitnessFacts()),
            goal=_enum(Goal, row.goal),
            declines_therapy=bool(row.declines_therapy),
            centre=centre,
            treatment=None if course is None else course[1],
            labs=tuple(batch.labs.get(pid, ())),
            response_assessment=batch.assessments.get(pid),
            signed_response=batch.signed.get(pid),
            medications=tuple(batch.medications.get(pid, ())),
            stopped_medications=tuple(batch.stopped.get(pid, ())),
            phase=_enum(Phase, row.phase),
        )
    except ValueError as exc:
        raise _Unusable(f"stored value not understood: {exc}") from exc


def _patient_facts(row: _Row) -> PatientFacts:
    return PatientFacts(
        birth_date=row.birth_date,
        sex_at_birth=_enum(Sex, row.sex_at_birth),
        has_testes=row.has_testes,
        reproductive_potential=row.reproductive_potential,
        weight_kg=row.weight_kg,
        height_cm=row.height_cm,
    )


def _disease_facts(row: _Row) -> DiseaseFacts:
    return DiseaseFacts(
        lineage=Lineage(row.lineage),
        cd19=_enum(Antigen, row.cd19),
        cd22=_enum(Antigen, row.cd22),
        cd20=_enum(Antigen, row.cd20),
        ph_positive=row.ph_positive,
        abl1_kinase_mutations=(
            None if row.abl1_kinase_mutations is None else tuple(row.abl1_kinase_mutations)
        ),
        kmt2a_rearranged=row.kmt2a_rearranged,
        cns_status=_enum(CnsStatus, row.cns_status),
        testicular_involvement=row.testicular_involvement,
        marrow_blast_pct=row.marrow_blast_pct,
        peripheral_blasts_per_ul=row.peripheral_blasts_per_ul,
    )


def _history_facts(row: _Row, batch: _Batch) -> HistoryFacts:
    pid = row.pid
    return HistoryFacts(
        status=RRStatus(row.status),
        initial_diagnosis_date=row.initial_diagnosis_date,
        initial_treatment_start_date=row.initial_treatment_start_date,
        relapse_dates=tuple(batch.relapses.get(pid, ())),
        prior_therapies=(
            tuple(batch.therapies.get(pid, ())) if row.prior_therapies_recorded else None
        ),
        prior_allogeneic_hct_date=row.prior_allogeneic_hct_date,
        rr_diagnosis_date=row.rr_diagnosis_date,
    )


def _snapshot(row: _Row, batch: _Batch, facts: CaseFacts) -> Snapshot:
    course = batch.courses.get(row.pid)
    return Snapshot(
        patient_id=row.pid,
        instance_id=row.instance_id,
        pathway_version=row.pathway_version,
        course_id=None if course is None else course[0],
        cns_track=row.cns_track,
        testis_track=row.testis_track,
        facts=facts,
    )


def _responses(
    session: Session, ids: list[int]
) -> tuple[dict[int, ResponseAssessment], dict[int, SignedResponse]]:
    table = table_of(ResponseRow)
    r = table.c
    latest: dict[int, ResponseAssessment] = {}
    signed: dict[int, SignedResponse] = {}
    rows = session.execute(
        select(table).where(r.patient_id == _any(ids)).order_by(r.patient_id, r.assessed_on, r.id)
    ).all()
    for row in rows:
        latest[row.patient_id] = response_assessment_from_row(row)
        if row.signed_category is not None and row.signed_at is not None:
            signed[row.patient_id] = SignedResponse(
                category=ResponseCategory(row.signed_category), signed_on=row.assessed_on
            )
    return latest, signed


def response_assessment_from_row(row: Any) -> ResponseAssessment:
    """One stored response assessment (a row or a model with its columns) as engine facts."""
    return ResponseAssessment(
        date=row.assessed_on,
        marrow_blast_pct=row.marrow_blast_pct,
        trilineage_hematopoiesis=row.trilineage_hematopoiesis,
        circulating_blasts=row.circulating_blasts,
        peripheral_blasts_per_ul=row.peripheral_blasts_per_ul,
        extramedullary_sites=frozenset(row.extramedullary_sites or ()),
        extramedullary_disease=bool(row.extramedullary_sites),
        anc_per_ul=row.anc_per_ul,
        platelets_per_ul=row.platelets_per_ul,
        in_remission_before=row.in_remission_before,
        end_of_induction=row.end_of_induction,
        mrd=Mrd(row.mrd_method, row.mrd_value, row.mrd_sensitivity)
        if row.mrd_method or row.mrd_value is not None
        else None,
    )
