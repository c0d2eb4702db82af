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
from typing import Any

from sqlalchemy import Integer, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

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


def _any(ids: list[int]) -> Any:
    """``= ANY(:ids)`` with one array parameter: a batch of thousands of ids stays one bind."""
    return any_(bindparam("ids", ids, type_=ARRAY(Integer)))


def _enum(kind, value):  # type: ignore[no-untyped-def]
    return None if value is None else kind(value)


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
    p, d, h = Patient.__table__.c, DiseaseRow.__table__.c, DiseaseHistory.__table__.c  # type: ignore[attr-defined]
    i = PathwayInstance.__table__.c  # type: ignore[attr-defined]
    base = session.execute(
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
        .select_from(Patient.__table__)  # type: ignore[attr-defined]
        .outerjoin(DiseaseRow.__table__, d.patient_id == p.id)  # type: ignore[attr-defined]
        .outerjoin(DiseaseHistory.__table__, h.patient_id == p.id)  # type: ignore[attr-defined]
        .outerjoin(PathwayInstance.__table__, (i.patient_id == p.id) & i.ended_at.is_(None))  # type: ignore[attr-defined]
        .where(p.id == _any(ids))
    ).all()

    relapses: dict[int, list[date]] = defaultdict(list)
    for pid, when in session.execute(
        select(Relapse.patient_id, Relapse.relapse_date)
        .where(Relapse.patient_id == _any(ids))
        .order_by(Relapse.patient_id, Relapse.relapse_date)  # type: ignore[arg-type]
    ):
        relapses[pid].append(when)

    therapies: dict[int, list[str]] = defaultdict(list)
    for pid, therapy in session.execute(
        select(PriorTherapy.patient_id, PriorTherapy.therapy)
        .where(PriorTherapy.patient_id == _any(ids))
        .order_by(PriorTherapy.patient_id, PriorTherapy.id)  # type: ignore[arg-type]
    ):
        therapies[pid].append(therapy)

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

    since = start_of_day(as_of - timedelta(days=LAB_LOOKBACK_DAYS), timezone)
    until = start_of_day(as_of + timedelta(days=1), timezone)
    labs: dict[int, list[LabResult]] = defaultdict(list)
    o = Observation.__table__.c  # type: ignore[attr-defined]
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

    medications: dict[int, list[str]] = defaultdict(list)
    stopped: dict[int, list[StoppedMedication]] = defaultdict(list)
    for pid, name, stopped_on in session.execute(
        select(Medication.patient_id, Medication.name, Medication.stopped_on)
        .where(Medication.patient_id == _any(ids))
        .order_by(Medication.patient_id, Medication.id)  # type: ignore[arg-type]
    ):
        if stopped_on is None or stopped_on > as_of:
            medications[pid].append(name)
        else:
            stopped[pid].append(StoppedMedication(name, stopped_on))

    assessments, signed = _responses(session, ids)

    snapshots: list[Snapshot] = []
    problems: list[SnapshotProblem] = []
    for row in base:
        pid = row.pid
        if row.lineage is None or row.status is None:
            missing = "disease facts" if row.lineage is None else "disease history"
            problems.append(SnapshotProblem(pid, f"{missing} not recorded"))
            continue
        course = courses.get(pid)
        try:
            facts = CaseFacts(
                as_of=as_of,
                timezone=timezone,
                jurisdiction=jurisdiction,
                patient=PatientFacts(
                    birth_date=row.birth_date,
                    sex_at_birth=_enum(Sex, row.sex_at_birth),
                    has_testes=row.has_testes,
                    reproductive_potential=row.reproductive_potential,
                    weight_kg=row.weight_kg,
                    height_cm=row.height_cm,
                ),
                disease=DiseaseFacts(
                    lineage=Lineage(row.lineage),
                    cd19=_enum(Antigen, row.cd19),
                    cd22=_enum(Antigen, row.cd22),
                    cd20=_enum(Antigen, row.cd20),
                    ph_positive=row.ph_positive,
                    abl1_kinase_mutations=(
                        None
                        if row.abl1_kinase_mutations is None
                        else tuple(row.abl1_kinase_mutations)
                    ),
                    kmt2a_rearranged=row.kmt2a_rearranged,
                    cns_status=_enum(CnsStatus, row.cns_status),
                    testicular_involvement=row.testicular_involvement,
                    marrow_blast_pct=row.marrow_blast_pct,
                    peripheral_blasts_per_ul=row.peripheral_blasts_per_ul,
                ),
                history=HistoryFacts(
                    status=RRStatus(row.status),
                    initial_diagnosis_date=row.initial_diagnosis_date,
                    initial_treatment_start_date=row.initial_treatment_start_date,
                    relapse_dates=tuple(relapses.get(pid, ())),
                    prior_therapies=(
                        tuple(therapies.get(pid, ())) if row.prior_therapies_recorded else None
                    ),
                    prior_allogeneic_hct_date=row.prior_allogeneic_hct_date,
                    rr_diagnosis_date=row.rr_diagnosis_date,
                ),
                fitness=fitness.get(pid, FitnessFacts()),
                goal=_enum(Goal, row.goal),
                declines_therapy=bool(row.declines_therapy),
                centre=centre,
                treatment=None if course is None else course[1],
                labs=tuple(labs.get(pid, ())),
                response_assessment=assessments.get(pid),
                signed_response=signed.get(pid),
                medications=tuple(medications.get(pid, ())),
                stopped_medications=tuple(stopped.get(pid, ())),
                phase=_enum(Phase, row.phase),
            )
        except ValueError as exc:
            problems.append(SnapshotProblem(pid, f"stored value not understood: {exc}"))
            continue
        found = contradictions(facts, dated=False) if refuse_contradictions else []
        if found:
            problems.append(
                SnapshotProblem(
                    pid, "facts contradict each other: " + "; ".join(str(c) for c in found)
                )
            )
            continue
        snapshots.append(
            Snapshot(
                patient_id=pid,
                instance_id=row.instance_id,
                pathway_version=row.pathway_version,
                course_id=None if course is None else course[0],
                cns_track=row.cns_track,
                testis_track=row.testis_track,
                facts=facts,
            )
        )
    snapshots.sort(key=lambda s: s.patient_id)
    return snapshots, problems


def _responses(
    session: Session, ids: list[int]
) -> tuple[dict[int, ResponseAssessment], dict[int, SignedResponse]]:
    r = ResponseRow.__table__.c  # type: ignore[attr-defined]
    latest: dict[int, ResponseAssessment] = {}
    signed: dict[int, SignedResponse] = {}
    rows = session.execute(
        select(r).where(r.patient_id == _any(ids)).order_by(r.patient_id, r.assessed_on, r.id)
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
