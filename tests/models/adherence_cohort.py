"""A small cohort, built by hand, whose adherence figures are known (tests/models/test_adherence.py).

Twenty-one patients in New York (DST ends on 1 November 2026), each written
out below with the tasks, courses, events and results that decide their
measures. The report period is October-November 2026 and the report is taken
at noon on 20 November 2026. The expected figures are written by hand in the
test, patient by patient; nothing here computes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from models.base import require_id
from models.observation import Observation
from models.pathway import Course, PathwayInstance, PhaseEvent, ResponseAssessmentRecord
from models.patient import (
    DiseaseFactsBase,
    FitnessAssessmentBase,
    HistoryBase,
    Medication,
    PatientCreate,
    Relapse,
)
from models.repositories.audit import Actor
from models.repositories.patients import PatientIntake, create_patient
from models.task import CareTask
from pathways.clock import end_of_day, start_of_day
from pathways.core.window import Closure
from pathways.definition import shipped_definition

TZ = "America/New_York"
NY = ZoneInfo(TZ)
START, END = date(2026, 10, 1), date(2026, 11, 30)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=NY)
SETUP = Actor("cohort", "admin", "cli")


def at(day: date, hh: int = 9, mm: int = 0) -> datetime:
    """A wall-clock time in New York."""
    return datetime.combine(day, time(hh, mm), tzinfo=NY)


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


@dataclass
class Cohort:
    session: Session
    ids: dict[str, int] = field(default_factory=dict)
    enrolled: dict[str, datetime] = field(default_factory=dict)
    courses: dict[str, int] = field(default_factory=dict)
    seq: int = 0

    # -- rows

    def patient(
        self,
        name: str,
        *,
        enrolled: datetime,
        lineage: str = "B",
        goal: str | None = "cure",
        has_testes: bool | None = False,
        relapses: tuple[date, ...] = (),
        prior: list[str] | None = None,
        fitness: dict[str, Any] | None = None,
        **disease: Any,
    ) -> int:
        intake = PatientIntake(
            patient=PatientCreate(
                mrn=f"C-{name.upper()}",
                display_name=f"{name} Cohort",
                birth_date=date(1975, 3, 14),
                has_testes=has_testes,
                goal=goal,
            ),
            disease=DiseaseFactsBase(lineage=lineage, **disease),
            history=HistoryBase(status="relapsed", rr_diagnosis_date=enrolled.date()),
            relapse_dates=list(relapses or (enrolled.date(),)),
            prior_therapies=prior,
            fitness=None if fitness is None else FitnessAssessmentBase(**fitness),
        )
        row = create_patient(
            self.session,
            intake=intake,
            actor=SETUP,
            definition=shipped_definition(),
            at=enrolled,
        )
        pid = require_id(row)
        self.ids[name] = pid
        self.enrolled[name] = enrolled
        return pid

    def _instance(self, name: str) -> int:
        return int(
            self.session.execute(
                select(PathwayInstance.id).where(PathwayInstance.patient_id == self.ids[name])
            ).scalar_one()
        )

    def course(
        self,
        name: str,
        regimen: str,
        anchor: date,
        *,
        created: datetime,
        phase: str = "induction",
        cycle: int = 1,
        prephase_start: date | None = None,
    ) -> int:
        row = Course(
            patient_id=self.ids[name],
            instance_id=self._instance(name),
            regimen=regimen,
            phase=phase,
            cycle_number=cycle,
            anchor_date=anchor,
            prephase_start=prephase_start,
            created_by="cohort",
            created_at=created,
        )
        self.session.add(row)
        self.session.flush()
        self.courses[name] = require_id(row)
        return require_id(row)

    def task(
        self,
        name: str,
        rule: str,
        slot: str,
        kind: str,
        window: tuple[date, date],
        *,
        due: date | None = None,
        status: str = "requested",
        completed: datetime | None = None,
        result: dict[str, Any] | None = None,
        result_fields: list[str] | None = None,
        regimen: str | None = None,
        course: bool = False,
        cycle: int | None = None,
        day: int | None = None,
        closed_as: str | None = None,
        reason: str | None = None,
        plan_cancelled: bool = False,
        created: datetime | None = None,
    ) -> int:
        self.seq += 1
        start, end = window
        pid = self.ids[name]
        if plan_cancelled:
            closed_as = Closure.UNPLANNED
            reason = reason or "resolved: the patient was planned on 2026-10-20"
        row = CareTask(
            patient_id=pid,
            instance_id=self._instance(name),
            course_id=self.courses[name] if course else None,
            dedupe_key=f"p{pid}:2026.1:{rule}:s{self.seq}:occ:{slot}",
            pathway_version="2026.1",
            kind=kind,
            rule_id=rule,
            title=f"{rule} {slot}",
            regimen=regimen,
            cycle=cycle,
            day=day,
            window_start=start,
            due_date=due or end,
            window_end=end,
            not_before=start_of_day(start, TZ),
            due=end_of_day(due or end, TZ),
            expires=end_of_day(end, TZ),
            status=status,
            status_reason=reason,
            role_queue="coordinator",
            result=result,
            result_fields=result_fields,
            completed_at=completed,
            completed_by="cohort" if completed else None,
            closed_as=closed_as,
            plan_hash="cohort",
            created_at=created or self.enrolled[name].replace(hour=10),
        )
        self.session.add(row)
        self.session.flush()
        return require_id(row)

    def done(self, name: str, rule: str, slot: str, kind: str, window: tuple[date, date],
             completed: datetime, **more: Any) -> int:  # fmt: skip
        return self.task(
            name, rule, slot, kind, window, status="completed", completed=completed, **more
        )

    def event(self, name: str, track: str, event: str, src: str | None, dst: str, when: datetime) -> None:  # fmt: skip
        self.session.add(
            PhaseEvent(
                instance_id=self._instance(name),
                patient_id=self.ids[name],
                track=track,
                from_state=src,
                to_state=dst,
                event=event,
                actor="cohort",
                reason="cohort",
                rule_ids=[],
                at=when,
            )
        )
        self.session.flush()

    def labs(self, name: str, when: datetime, *codes: str) -> None:
        for code in codes:
            self.session.add(
                Observation(
                    patient_id=self.ids[name],
                    code=code,
                    value=30.0,
                    unit="U/L",
                    observed_at=when,
                    recorded_by="cohort",
                    recorded_at=when,
                )
            )
        self.session.flush()

    def marrow(self, name: str, on: date, *, mrd: float | None) -> None:
        self.session.add(
            ResponseAssessmentRecord(
                patient_id=self.ids[name],
                assessed_on=on,
                marrow_blast_pct=2.0,
                trilineage_hematopoiesis=True,
                mrd_method="flow" if mrd is not None else None,
                mrd_value=mrd,
                recorded_by="cohort",
                recorded_at=at(on, 16),
            )
        )
        self.session.flush()

    def medication(self, name: str, drug: str, started: date, recorded: datetime) -> None:
        self.session.add(
            Medication(
                patient_id=self.ids[name], name=drug, started_on=started, recorded_at=recorded
            )
        )
        self.session.flush()


LFT = ("alt", "ast", "total_bilirubin", "alp")
CSF = {"csf_cytology": "negative", "csf_flow_cytometry": "negative", "csf_wbc_per_ul": "1"}
CSF_FIELDS = ["csf_cytology", "csf_flow_cytometry", "csf_wbc_per_ul"]
POST03 = ["hct_decision", "mrd_level", "donor_available", "comorbidities", "prior_treatments",
          "social_support", "patient_preference"]  # fmt: skip
IMMUNO = {"lineage": "B", "cd19": "positive", "cd22": "negative", "cd20": "negative"}
OCT1 = at(d(10, 1))
JUN1 = at(d(6, 1))


def build(session: Session) -> Cohort:
    c = Cohort(session)
    workup = (d(10, 1), d(10, 25))

    # Ana: blinatumomab from 26 Oct; the cycle-1 inpatient stay (26 Oct - 3 Nov) spans the
    # end of DST and is recorded at 23:59 on 3 Nov, the last minute of its window (QM-13).
    c.patient("Ana", enrolled=OCT1, cd19="positive", cd22="positive", marrow_blast_pct=30,
              peripheral_blasts_per_ul=5000,
              fitness={"category": "fit", "ecog": 1, "hct_ci": 2, "hct_eligible": "yes"})  # fmt: skip
    c.course("Ana", "blinatumomab", d(10, 26), created=at(d(10, 20)))
    for rule in ("WU-03", "WU-04", "WU-05"):
        c.done("Ana", rule, rule.lower(), "workup_item", workup, at(d(10, 8)))
    c.done("Ana", "WU-06", "wu06", "workup_item", workup, at(d(10, 9)),
           result={"lineage": "B", "cd19": "positive", "cd22": "positive", "cd20": "negative"},
           result_fields=["lineage", "cd19", "cd22", "cd20"])  # fmt: skip
    c.task("Ana", "WU-23", "wu23_lumbar_puncture", "lumbar_puncture", workup, status="cancelled",
           plan_cancelled=True, result_fields=CSF_FIELDS)  # fmt: skip
    c.done("Ana", "CNS-01", "cns_diagnostic_lp", "lumbar_puncture", (d(10, 19), d(11, 2)),
           at(d(10, 27)), result=CSF, result_fields=CSF_FIELDS, regimen="blinatumomab",
           course=True, cycle=1, day=1, created=at(d(10, 20), 10))  # fmt: skip
    c.done("Ana", "WU-27", "wu27_fitness", "workup_item", workup, at(d(10, 5)),
           result={"fitness_category": "fit", "ecog": "1", "hct_eligible": "yes"},
           result_fields=["fitness_category", "ecog", "hct_eligible"])  # fmt: skip
    c.done("Ana", "FIT-06", "fit_transplant_referral", "transplant_referral",
           (d(10, 1), d(10, 8)), at(d(10, 6)))  # fmt: skip
    c.done("Ana", "BLIN-02", "inpatient_c1", "inpatient_monitoring", (d(10, 26), d(11, 3)),
           at(d(11, 3), 23, 59), due=d(10, 26), regimen="blinatumomab", course=True, cycle=1,
           day=1, created=at(d(10, 20), 10))  # fmt: skip
    c.done("Ana", "CNS-04", "cns_it_prophylaxis", "intrathecal_therapy", (d(10, 19), d(11, 2)),
           at(d(10, 27)), regimen="blinatumomab", course=True, cycle=1, day=1,
           result={"it_given_on": "2026-10-27", "it_agent": "methotrexate"},
           created=at(d(10, 20), 10))  # fmt: skip
    c.task("Ana", "BLIN-09", "response_marrow", "bone_marrow_assessment", (d(11, 23), d(12, 6)),
           regimen="blinatumomab", course=True, cycle=1, day=29,
           created=at(d(10, 20), 10))  # fmt: skip

    # Ben: pre-phase from 19 Oct (IND_D1), blinatumomab from 26 Oct. His stay is recorded at
    # midnight after 3 Nov: the first instant after the window (late). The IT is on hold
    # with a documented clinical reason (excused). Testicular exam and CD19/CD22 come after
    # IND_D1 (late); fitness instrument recorded with the WU-27 task; CNS involvement.
    c.patient("Ben", enrolled=OCT1, has_testes=True, cd19="positive", cd22="negative",
              marrow_blast_pct=80, fitness={"category": "fit", "ecog": 0, "hct_eligible": "yes"})  # fmt: skip
    c.course("Ben", "blinatumomab", d(10, 26), created=at(d(10, 15)), prephase_start=d(10, 19))
    ben_workup = (d(10, 1), d(10, 18))
    for rule in ("WU-03", "WU-04", "WU-05"):
        c.done("Ben", rule, rule.lower(), "workup_item", ben_workup, at(d(10, 10)))
    c.done("Ben", "WU-06", "wu06", "workup_item", ben_workup, at(d(10, 20)),
           result={"lineage": "B", "cd19": "positive", "cd22": "negative", "cd20": "negative"},
           result_fields=["lineage", "cd19", "cd22", "cd20"])  # fmt: skip
    c.done("Ben", "WU-11", "wu11_testicular_exam", "workup_item", ben_workup, at(d(10, 25)))
    c.done("Ben", "WU-27", "wu27_fitness", "workup_item", ben_workup, at(d(10, 3)),
           result={"fitness_category": "fit", "ecog": "0", "hct_eligible": "yes", "hct_ci": "3"},
           result_fields=["fitness_category", "ecog", "hct_eligible"])  # fmt: skip
    c.done("Ben", "FIT-06", "fit_transplant_referral", "transplant_referral",
           (d(10, 1), d(10, 8)), at(d(10, 12)))  # fmt: skip
    c.task("Ben", "WU-23", "wu23_lumbar_puncture", "lumbar_puncture", ben_workup,
           result_fields=CSF_FIELDS)  # fmt: skip
    c.task("Ben", "CNS-01", "cns_diagnostic_lp", "lumbar_puncture", (d(10, 19), d(11, 2)),
           result_fields=CSF_FIELDS, regimen="blinatumomab", course=True, cycle=1, day=1,
           created=at(d(10, 15), 10))  # fmt: skip
    c.done("Ben", "BLIN-02", "inpatient_c1", "inpatient_monitoring", (d(10, 26), d(11, 3)),
           datetime(2026, 11, 4, 5, 0, tzinfo=UTC), due=d(10, 26), regimen="blinatumomab",
           course=True, cycle=1, day=1, created=at(d(10, 15), 10))  # fmt: skip
    c.task("Ben", "CNS-04", "cns_it_prophylaxis", "intrathecal_therapy", (d(10, 19), d(11, 2)),
           status="on-hold", reason="Platelets 18,000/microL: IT deferred by the clinician",
           regimen="blinatumomab", course=True, cycle=1, day=1, created=at(d(10, 15), 10))  # fmt: skip
    c.event("Ben", "cns", "document_cns_involvement", "not_started", "treatment", at(d(10, 27)))

    # Cara: inotuzumab from 5 Oct; her goal became symptom relief, and the planner cancelled
    # her response marrow (RESP-02): she leaves the QM-17, QM-01 and QM-20a denominators.
    c.patient("Cara", enrolled=OCT1, goal="symptom_relief", cd19="negative", cd22="positive")
    c.course("Cara", "inotuzumab_ozogamicin", d(10, 5), created=at(d(10, 4)))
    c.task("Cara", "INO-08", "response_marrow", "bone_marrow_assessment", (d(10, 22), d(11, 1)),
           status="cancelled", plan_cancelled=True, regimen="inotuzumab_ozogamicin", course=True,
           cycle=1, day=18, created=at(d(10, 4), 10))  # fmt: skip
    c.done("Cara", "CNS-01", "cns_diagnostic_lp", "lumbar_puncture", (d(9, 28), d(10, 12)),
           at(d(10, 5)), result=CSF, result_fields=CSF_FIELDS, regimen="inotuzumab_ozogamicin",
           course=True, cycle=1, day=1, created=at(d(10, 4), 10))  # fmt: skip
    c.task("Cara", "CNS-04", "cns_it_prophylaxis", "intrathecal_therapy", (d(9, 28), d(10, 12)),
           regimen="inotuzumab_ozogamicin", course=True, cycle=1, day=1,
           created=at(d(10, 4), 10))  # fmt: skip
    ino = {"regimen": "inotuzumab_ozogamicin", "course": True, "cycle": 1,
           "created": at(d(10, 4), 10)}  # fmt: skip
    # Day 1: LFTs 49 h before the dose, premedication, 65 min observation (QM-14, QM-15 met).
    c.labs("Cara", at(d(10, 3), 9), *LFT)
    c.done("Cara", "INO-05", "lft_before_dose", "lab_panel", (d(10, 2), d(10, 5)),
           at(d(10, 3), 9), day=1, **ino)  # fmt: skip
    c.done("Cara", "INO-03", "premedication", "premedication", (d(10, 5), d(10, 5)),
           at(d(10, 5), 9, 30), day=1, **ino)  # fmt: skip
    c.done("Cara", "INO-06", "dose", "dose", (d(10, 5), d(10, 5)), at(d(10, 5), 10), day=1, **ino)
    c.done("Cara", "INO-04", "observation", "post_infusion_observation", (d(10, 5), d(10, 5)),
           at(d(10, 5), 12, 10), day=1, **ino,
           result={"infusion_end_at": "11:00", "observation_end_at": "12:05"},
           result_fields=["infusion_end_at", "observation_end_at"])  # fmt: skip
    # Day 8: LFTs 97 h before the dose; observation 45 min (both measures missed).
    c.labs("Cara", at(d(10, 8), 9), *LFT)
    c.done("Cara", "INO-03", "premedication", "premedication", (d(10, 12), d(10, 12)),
           at(d(10, 12), 9, 30), day=8, **ino)  # fmt: skip
    c.done("Cara", "INO-06", "dose", "dose", (d(10, 12), d(10, 12)), at(d(10, 12), 10), day=8,
           **ino)  # fmt: skip
    c.done("Cara", "INO-04", "observation", "post_infusion_observation", (d(10, 12), d(10, 12)),
           at(d(10, 12), 12), day=8, **ino,
           result={"infusion_end_at": "11:00", "observation_end_at": "11:45"},
           result_fields=["infusion_end_at", "observation_end_at"])  # fmt: skip
    # Day 15: the dose is held (not given): not a dose.
    c.task("Cara", "INO-06", "dose", "dose", (d(10, 19), d(10, 19)), status="on-hold",
           reason="LFT hold rule met (INO-05)", day=15, **ino)  # fmt: skip

    # Dev: T-ALL, nelarabine from 12 Oct; CNS involvement treated and the track closed on
    # 15 Nov; response marrow on 8 Nov, the last day of its window (after the DST change).
    c.patient("Dev", enrolled=OCT1, lineage="T", has_testes=True, cns_status="involved",
              fitness={"category": "less_fit", "ecog": 2, "cci": 4, "hct_eligible": "no"})  # fmt: skip
    c.course("Dev", "nelarabine", d(10, 12), created=at(d(10, 6)))
    dev_workup = (d(10, 1), d(10, 11))
    for rule in ("WU-03", "WU-04"):
        c.done("Dev", rule, rule.lower(), "workup_item", dev_workup, at(d(10, 8)))
    c.task("Dev", "WU-05", "wu05_kmt2a", "workup_item", dev_workup, status="cancelled",
           closed_as="cancelled", reason="Clinician: FISH not done, sample insufficient")  # fmt: skip
    c.done("Dev", "WU-06", "wu06", "workup_item", dev_workup, at(d(10, 8)),
           result={"lineage": "T", "cd19": "negative", "cd22": "negative", "cd20": "negative"},
           result_fields=["lineage", "cd19", "cd22", "cd20"])  # fmt: skip
    c.done("Dev", "WU-11", "wu11_testicular_exam", "workup_item", dev_workup, at(d(10, 5)))
    c.task("Dev", "WU-27", "wu27_fitness", "workup_item", dev_workup,
           result_fields=["fitness_category", "ecog", "hct_eligible"])  # fmt: skip
    nel = {"regimen": "nelarabine", "course": True, "cycle": 1, "created": at(d(10, 6), 10)}
    c.done("Dev", "CNS-01", "cns_diagnostic_lp_without_it", "lumbar_puncture",
           (d(10, 5), d(10, 26)), at(d(10, 28)), result=CSF, result_fields=CSF_FIELDS, day=1,
           **nel)  # fmt: skip
    c.done("Dev", "CNS-04", "it_with_nelarabine", "clinician_review", (d(10, 5), d(10, 19)),
           at(d(10, 11)), day=1, **nel)  # fmt: skip
    c.done("Dev", "NEL-03", "neuro_before_dose", "neuro_assessment", (d(10, 11), d(10, 12)),
           at(d(10, 12), 8), day=1, **nel)  # fmt: skip
    c.done("Dev", "NEL-03", "neuro_before_dose", "neuro_assessment", (d(10, 13), d(10, 14)),
           at(d(10, 15), 10), day=3, **nel)  # fmt: skip
    c.task("Dev", "NEL-03", "neuro_before_dose", "neuro_assessment", (d(10, 15), d(10, 16)),
           status="cancelled", closed_as="skipped", reason="Patient declined the exam", day=5,
           **nel)  # fmt: skip
    c.task("Dev", "NEL-08", "response_marrow", "bone_marrow_assessment", (d(11, 1), d(11, 8)),
           day=21, **nel)  # fmt: skip
    c.marrow("Dev", d(11, 8), mrd=0.0001)
    c.event("Dev", "cns", "document_cns_involvement", "not_started", "treatment", at(d(10, 13)))
    c.event("Dev", "cns", "complete_cns_track", "treatment", "complete", at(d(11, 15)))

    # Eve: KMT2A-r, CD19-/CD22- B-ALL, revumenib from 15 Oct; LP done at workup; the response
    # marrow has no MRD; no IT recorded.
    c.patient("Eve", enrolled=OCT1, cd19="negative", cd22="negative", kmt2a_rearranged=True)
    c.course("Eve", "revumenib", d(10, 15), created=at(d(10, 14)))
    c.done("Eve", "WU-23", "wu23_lumbar_puncture", "lumbar_puncture", (d(10, 1), d(10, 14)),
           at(d(10, 10)), result=CSF, result_fields=CSF_FIELDS)  # fmt: skip
    rev = {"regimen": "revumenib", "course": True, "cycle": 1, "created": at(d(10, 14), 10)}
    c.task("Eve", "CNS-01", "cns_diagnostic_lp", "lumbar_puncture", (d(10, 8), d(10, 22)),
           result_fields=CSF_FIELDS, day=1, **rev)  # fmt: skip
    c.task("Eve", "CNS-04", "cns_it_prophylaxis", "intrathecal_therapy", (d(10, 8), d(10, 22)),
           day=1, **rev)  # fmt: skip
    c.task("Eve", "REV-10", "response_marrow", "bone_marrow_assessment", (d(11, 4), d(11, 18)),
           day=28, **rev)  # fmt: skip
    c.marrow("Eve", d(11, 18), mrd=None)

    # Finn: entered a clinical trial on 10 Oct: excluded everywhere (SM-13).
    c.patient("Finn", enrolled=OCT1, **IMMUNO)
    c.course("Finn", "blinatumomab", d(10, 8), created=at(d(10, 5)))
    c.task("Finn", "BLIN-02", "inpatient_c1", "inpatient_monitoring", (d(10, 8), d(10, 16)),
           regimen="blinatumomab", course=True, cycle=1, created=at(d(10, 5), 10))  # fmt: skip
    c.event(
        "Finn", "main", "enrol_in_trial", "induction_selection", "clinical_trial", at(d(10, 10))
    )

    # Gus: Ph+ CD19+, dasatinib from 18 Oct after the mutation result of 16 Oct; high
    # burden without a pre-phase; FIT-06 cancelled by the planner; stay cancelled with a reason.
    c.patient("Gus", enrolled=OCT1, has_testes=True, ph_positive=True, marrow_blast_pct=60,
              **IMMUNO, fitness={"category": "fit", "ecog": 1, "hct_eligible": "yes"})  # fmt: skip
    c.course("Gus", "blinatumomab", d(10, 20), created=at(d(10, 15)))
    c.done("Gus", "PH-02", "ph_mutation_before_tki", "clinician_review", (d(10, 13), d(10, 20)),
           at(d(10, 16)), created=at(d(10, 15), 10))  # fmt: skip
    c.medication("Gus", "dasatinib", d(10, 18), at(d(10, 17), 10))
    c.task("Gus", "FIT-06", "fit_transplant_referral", "transplant_referral",
           (d(10, 1), d(10, 8)), status="cancelled", plan_cancelled=True)  # fmt: skip
    c.task("Gus", "BLIN-02", "inpatient_c1", "inpatient_monitoring", (d(10, 20), d(10, 28)),
           status="cancelled", closed_as="cancelled",
           reason="Started inpatient on the trial ward; stay recorded there", regimen="blinatumomab",
           course=True, cycle=1, created=at(d(10, 15), 10))  # fmt: skip
    c.task("Gus", "BLIN-09", "response_marrow", "bone_marrow_assessment", (d(11, 17), d(11, 30)),
           regimen="blinatumomab", course=True, cycle=1, day=29,
           created=at(d(10, 15), 10))  # fmt: skip

    # Hal: Ph+ CD19-/CD22-, chemotherapy with ponatinib started before the mutation result.
    c.patient("Hal", enrolled=OCT1, ph_positive=True, cd19="negative", cd22="negative")
    c.course("Hal", "chemotherapy_moderate_intensity", d(10, 20), created=at(d(10, 18)))
    c.medication("Hal", "ponatinib", d(10, 20), at(d(10, 20), 8))
    c.done("Hal", "PH-02", "ph_mutation_before_tki", "clinician_review", (d(10, 13), d(10, 20)),
           at(d(10, 22)), created=at(d(10, 18), 10))  # fmt: skip

    # Ida: Ph+ CD22+, inotuzumab from 6 Oct without a TKI.
    c.patient("Ida", enrolled=OCT1, ph_positive=True, cd19="negative", cd22="positive")
    c.course("Ida", "inotuzumab_ozogamicin", d(10, 6), created=at(d(10, 3)))

    # Jo: CD19 never documented, CD22+, blinatumomab from 1 Oct (discordant start); marrow
    # taken two days after its window.
    c.patient("Jo", enrolled=at(d(9, 25)), cd22="positive", marrow_blast_pct=30,
              peripheral_blasts_per_ul=5000)  # fmt: skip
    c.course("Jo", "blinatumomab", d(10, 1), created=at(d(9, 28)))
    c.done("Jo", "BLIN-02", "inpatient_c1", "inpatient_monitoring", (d(10, 1), d(10, 9)),
           at(d(10, 1), 15), due=d(10, 1), regimen="blinatumomab", course=True, cycle=1,
           created=at(d(9, 28), 10))  # fmt: skip
    c.task("Jo", "BLIN-09", "response_marrow", "bone_marrow_assessment", (d(10, 29), d(11, 11)),
           regimen="blinatumomab", course=True, cycle=1, day=29,
           created=at(d(9, 28), 10))  # fmt: skip
    c.marrow("Jo", d(11, 13), mrd=0.001)

    # Kai: in remission since June: maintenance recorded 30 min after its window; no HCT
    # decision; DLI referral on time.
    c.patient("Kai", enrolled=JUN1, **IMMUNO)
    c.done("Kai", "BLIN-10", "maintenance_start", "maintenance_cycle_start",
           (d(9, 28), d(10, 12)), at(d(10, 13), 0, 30), due=d(10, 5),
           regimen="blinatumomab")  # fmt: skip
    c.task("Kai", "POST-03", "hct_decision_escalation", "clinician_review", (d(9, 25), d(10, 25)),
           result_fields=POST03)  # fmt: skip
    c.done("Kai", "MULTI-05", "dli_referral", "transplant_referral", (d(10, 3), d(10, 10)),
           at(d(10, 9)))  # fmt: skip

    # Lea: CNS involvement; a signed relapse on 5 Nov starts her second episode (multiply
    # relapsed). Episode 1 ends with the CNS track open (missed); episode 2's fitness is not
    # documented (her July assessment belongs to episode 1); trial screening done.
    c.patient("Lea", enrolled=at(d(7, 30)), cns_status="involved", relapses=(d(7, 28),),
              fitness={"category": "fit", "ecog": 1, "sppb": 9, "hct_eligible": "yes"}, **IMMUNO)  # fmt: skip
    c.done("Lea", "WU-27", "wu27_fitness", "workup_item", (d(7, 30), d(8, 13)), at(d(8, 1)),
           result={"fitness_category": "fit", "ecog": "1", "hct_eligible": "yes"},
           result_fields=["fitness_category", "ecog", "hct_eligible"])  # fmt: skip
    c.event("Lea", "main", "record_relapse", "surveillance", "relapse", at(d(11, 5), 10))
    session.add(Relapse(patient_id=c.ids["Lea"], relapse_date=d(11, 5)))
    second = (d(11, 5), d(11, 19))
    c.task("Lea", "WU-27", "wu27_fitness", "workup_item", second,
           result_fields=["fitness_category", "ecog", "hct_eligible"], created=at(d(11, 6)))  # fmt: skip
    c.done("Lea", "WU-29", "wu29_trial_screening", "workup_item", second, at(d(11, 10)),
           created=at(d(11, 6)))  # fmt: skip

    # Max: tisagenlecleucel infused 30 Oct after the tocilizumab check; marrow due later.
    c.patient("Max", enrolled=OCT1, **IMMUNO)
    c.course("Max", "tisagenlecleucel", d(10, 30), created=at(d(10, 10)))
    c.done("Max", "CART-02", "readiness_infusion", "clinician_review", (d(10, 29), d(10, 30)),
           at(d(10, 29), 14), regimen="tisagenlecleucel", course=True, cycle=1,
           created=at(d(10, 10), 10))  # fmt: skip
    c.task("Max", "CART-07", "response_marrow", "bone_marrow_assessment", (d(11, 23), d(12, 1)),
           regimen="tisagenlecleucel", course=True, cycle=1, day=28,
           created=at(d(10, 10), 10))  # fmt: skip

    # Mia: maintenance on time; HCT decision window still open; testicular RT not started.
    c.patient("Mia", enrolled=JUN1, **IMMUNO)
    c.done("Mia", "BLIN-10", "maintenance_start", "maintenance_cycle_start", (d(10, 1), d(10, 15)),
           at(d(10, 14)), due=d(10, 8), regimen="blinatumomab")  # fmt: skip
    c.task("Mia", "POST-03", "hct_decision_escalation", "clinician_review", (d(10, 25), d(11, 24)),
           result_fields=POST03)  # fmt: skip
    c.task("Mia", "TEST-04", "testicular_rt_with_maintenance", "radiotherapy",
           (d(10, 8), d(11, 5)), result_fields=["rt_start_date"])  # fmt: skip

    # Ned, Ola, Pia: CD19+ B-ALL starting chemotherapy: Ned counts (not immunotherapy), Ola
    # retreats with her prior regimen (DEF-12) and Pia is frail: both excluded from QM-06.
    c.patient("Ned", enrolled=OCT1, **IMMUNO)
    c.course("Ned", "chemotherapy_low_intensity", d(10, 15), created=at(d(10, 12)))
    c.patient("Ola", enrolled=OCT1, **IMMUNO)
    c.course("Ola", "prior_induction_regimen", d(10, 15), created=at(d(10, 12)))
    c.patient("Pia", enrolled=OCT1, **IMMUNO,
              fitness={"category": "frail", "ecog": 4, "hct_eligible": "no"})  # fmt: skip
    c.course("Pia", "chemotherapy_low_intensity", d(10, 15), created=at(d(10, 12)))

    # Quinn: shared HCT decision documented in time; maintenance cancelled (going to HCT).
    c.patient("Quinn", enrolled=JUN1, **IMMUNO)
    c.done("Quinn", "POST-03", "hct_decision_escalation", "clinician_review",
           (d(10, 1), d(10, 31)), at(d(10, 20)), result_fields=POST03,
           result={"hct_decision": "allogeneic HCT", "mrd_level": "negative",
                   "donor_available": "yes", "comorbidities": "none", "prior_treatments": "blin",
                   "social_support": "good", "patient_preference": "HCT"})  # fmt: skip
    c.task("Quinn", "BLIN-10", "maintenance_start", "maintenance_cycle_start",
           (d(11, 1), d(11, 15)), due=d(11, 8), status="cancelled", closed_as="cancelled",
           reason="Going to allogeneic HCT: maintenance no longer applies",
           regimen="blinatumomab")  # fmt: skip

    # Rex: T-ALL on chemotherapy, not nelarabine.
    c.patient("Rex", enrolled=OCT1, lineage="T")
    c.course("Rex", "chemotherapy_high_intensity", d(10, 15), created=at(d(10, 12)))

    # Sol and Tia: multiply relapsed KMT2A-r CD19+ B-ALL on chemotherapy. Sol never had
    # revumenib (counts in QM-10); Tia had it before (excluded).
    two = (d(6, 1, 2025), d(9, 20))
    c.patient("Sol", enrolled=OCT1, kmt2a_rearranged=True, relapses=two, **IMMUNO)
    c.course("Sol", "chemotherapy_moderate_intensity", d(10, 15), created=at(d(10, 12)))
    c.patient("Tia", enrolled=OCT1, kmt2a_rearranged=True, relapses=two, prior=["revumenib"],
              **IMMUNO)  # fmt: skip
    c.course("Tia", "chemotherapy_moderate_intensity", d(10, 15), created=at(d(10, 12)))
    session.flush()
    return c
