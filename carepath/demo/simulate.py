"""The demo's clinic: months of clinic days, simulated one day at a time.

The invented patients arrive over those months: each is loaded (with the
story of its referral and treatment so far) on its own day, the last ones a
few days before today, so today's queues hold both new and long-followed
patients. Every day, in clinic time: at 07:00 the tracker plans and sends
the morning's reminders; between 08:00 and
16:00 invented coordinators and clinicians work their queues — most tasks on
time, some late, some never — lab panels come back with synthetic results
(a few out of range), response marrows are resulted and signed by an invented
clinician a day or two after the tracker asks; at 17:00 the tracker evaluates
the day's results, at 18:00 it reminds about and escalates what is overdue,
and at 18:05 it sends the reminders (to files under the data folder). The
last day is today, up to the real clock.

Each day's "now" is passed explicitly to the same plain-function cores the
flows run (``plan_all``, ``evaluate_all``, ``escalate_now``, ``dispatch_all``);
nothing patches the clock. No Prefect run wraps the simulation: running the
four real flows for each of ~90 days would cost ~4 flow runs at ~1 s of
Prefect bookkeeping each per day, and even one flow run needs a Prefect
server, whose start alone took a third of a fresh demo on the 2-core machine.
The runs that matter are real ones: `carepath serve` runs the flows under
Prefect on the data the demo leaves.

Everything is deterministic for a given seed: each task's fate (on time,
late, missed) comes from a hash of its key and the seed, not from the order
in which things happen.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from carepath.demo.cohort import COHORT, DemoPatient
from carepath.demo.loader import CLINICIAN, DEMO_SIGNATURE, load_patient
from flows.adherence_report import snapshot_adherence
from flows.dispatch_reminders import dispatch_all
from flows.escalate_overdue import escalate_now
from flows.evaluate_results import evaluate_all
from flows.plan_care import plan_all
from flows.runtime import Runtime, current_runtime
from models.observation import ObservationCreate
from models.pathway import ResponseAssessmentRecord
from models.repositories.audit import Actor
from models.repositories.observations import add_observations
from models.repositories.simulation import Completion, OpenTask, actionable_tasks, complete_tasks
from models.repositories.transitions import apply_transition
from models.session import transaction
from pathways.clock import zone
from pathways.errors import PathwayError
from pathways.vocab import ResponseCategory

COORDINATOR = Actor("demo.coordinator", "coordinator", "cli")
LAB = Actor("demo.lab", "coordinator", "cli")

# Synthetic values of the invented cohort's labs, in each test's canonical unit (the lab
# catalogue): the usual range of a patient on treatment. Their limits of normal are the
# catalogue's local reference range, as for any result entered without the laboratory's own.
LABS: dict[str, tuple[float, float]] = {
    "alt": (12, 38),
    "ast": (12, 34),
    "alp": (45, 110),
    "total_bilirubin": (0.3, 1.0),
    "wbc": (2500, 8000),
    "anc": (900, 4000),
    "platelets": (60000, 280000),
    "potassium": (3.6, 4.8),
    "magnesium": (0.75, 0.95),
    "qtcf_ms": (400, 455),
    "uric_acid": (3.5, 6.5),
    "phosphorus": (2.7, 4.2),
    "calcium": (8.8, 10.0),
    "creatinine": (0.6, 1.1),
    "ldh": (140, 260),
}
# How a value looks when it is out of range.
ABNORMAL: dict[str, Callable[[random.Random], float]] = {
    "alt": lambda r: round(40 * r.uniform(2.6, 6.0)),
    "ast": lambda r: round(40 * r.uniform(2.6, 6.0)),
    "total_bilirubin": lambda r: round(1.2 * r.uniform(1.6, 3.0), 1),
    "qtcf_ms": lambda r: round(r.uniform(485, 510)),
    "potassium": lambda r: round(r.uniform(2.9, 3.3), 1),
    "magnesium": lambda r: round(r.uniform(0.5, 0.65), 2),
    "platelets": lambda r: round(r.uniform(20000, 45000), -3),
    "anc": lambda r: round(r.uniform(100, 450), -1),
}
ON_TIME, LATE = 0.78, 0.93  # the rest is missed
ABNORMAL_SHARE = 0.07
NON_LAB_RESULTS = {
    "fitness_category": "fit",
    "ecog": 1,
    "neurologic_exam": "no new deficit",
    "neurologic_ae_grade": 0,
    "csf_cytology": "negative",
    "csf_flow_cytometry": "negative",
    "strong_cyp3a4_inhibitor": False,
    # INO-04: the invented nurse records the infusion's end and the observation's end (QM-15).
    "infusion_end_at": "11:30",
    "observation_end_at": "12:40",
    # POST-02/03: the shared decision, as a clinician would note it (invented).
    "hct_decision": "proceed to allogeneic HCT; donor search under way",
}


SAME_VISIT = frozenset({"dose", "premedication", "post_infusion_observation"})


@dataclass
class Tally:
    days: int = 0
    admitted: int = 0
    completed_on_time: int = 0
    completed_late: int = 0
    lab_results: int = 0
    abnormal_results: int = 0
    marrows: int = 0
    signatures: int = 0
    refused_signatures: int = 0
    planned: dict[str, int] = field(default_factory=dict)
    evaluated: dict[str, int] = field(default_factory=dict)
    escalated: dict[str, int] = field(default_factory=dict)
    dispatched: dict[str, int] = field(default_factory=dict)
    adherence_snapshots: int = 0  # months with a stored snapshot

    def add(self, name: str, stats: dict[str, Any]) -> None:
        bucket: dict[str, int] = getattr(self, name)
        for key, value in stats.items():
            if isinstance(value, int) and not isinstance(value, bool):
                bucket[key] = bucket.get(key, 0) + value


def _unit(seed: int, *parts: object) -> float:
    """A deterministic number in [0, 1) from the seed and the parts."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def at(day: date, timezone: str, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone(timezone))


class Clinic:
    """The invented staff of the demo: what they do with the tracker's tasks each day."""

    def __init__(
        self, rt: Runtime, *, seed: int, arrivals: dict[date, list[DemoPatient]] | None = None
    ) -> None:
        self.rt = rt
        self.seed = seed
        self.arrivals = arrivals or {}
        self.tally = Tally()
        self.labs = rt.definition(None).labs
        # Response marrows resulted and waiting for the clinician: patient -> (day to sign, category).
        self.to_sign: dict[int, tuple[date, ResponseCategory]] = {}
        self.snapshot_months: set[str] = set()

    def fate(self, task: OpenTask) -> date | None:
        """The day a task gets done, or None when it is missed."""
        # A dose, its premedication and its observation happen at one visit, on one day.
        key = (
            f"visit:{task.patient_id}:{task.window_start}"
            if task.kind in SAME_VISIT
            else task.dedupe_key
        )
        u = _unit(self.seed, key)
        spread = _unit(self.seed, key, "day")
        if task.kind == "clinician_review":  # reviews and signatures: the same or next days
            return None if u >= LATE else task.window_start + timedelta(days=int(spread * 3))
        if u < ON_TIME:
            width = max((task.due_date - task.window_start).days, 0)
            return task.window_start + timedelta(days=int(spread * (width + 1)))
        if u < LATE:
            return task.due_date + timedelta(days=1 + int(spread * 5))
        return None

    def simulate(self, day: date) -> None:
        tz = self.rt.timezone
        if day.day == 1:  # the nightly adherence run that settles the month just ended
            self.snapshot(at(day, tz, 2, 30))
        self.admit(day)
        self.tally.add("planned", plan_all(self.rt, as_of=day, now=at(day, tz, 7)))
        self.send(at(day, tz, 7, 5))
        self.work(day)
        self.tally.add("evaluated", evaluate_all(self.rt, now=at(day, tz, 17)))
        self.close_day(at(day, tz, 18))
        self.tally.days += 1

    def today(self, now: datetime) -> None:
        """The real today: the tracker runs at the real clock's instant; nobody has worked yet."""
        day = now.astimezone(zone(self.rt.timezone)).date()
        self.admit(day)
        self.tally.add("planned", plan_all(self.rt, as_of=day, now=now))
        self.tally.add("evaluated", evaluate_all(self.rt, now=now))
        self.close_day(now)
        self.snapshot(now)

    def snapshot(self, moment: datetime) -> None:
        """The nightly adherence_report's work; only on month turns here, to keep the demo short."""
        stats = snapshot_adherence(
            self.rt.engine,
            definition=self.rt.definition(None),
            timezone=self.rt.timezone,
            now=moment,
        )
        self.snapshot_months.update(stats["periods"])
        self.tally.adherence_snapshots = len(self.snapshot_months)

    def close_day(self, evening: datetime) -> None:
        self.tally.add("escalated", escalate_now(self.rt, now=evening))
        self.send(evening + timedelta(minutes=5))

    def send(self, moment: datetime) -> None:
        self.tally.add("dispatched", dispatch_all(self.rt, clock=lambda: moment))

    def admit(self, day: date) -> None:
        """Patients referred today arrive with their story so far."""
        arriving = self.arrivals.get(day, [])
        if arriving:
            definition = self.rt.definition(None)
            with transaction(self.rt.engine) as session:
                for entry in arriving:
                    load_patient(
                        session,
                        entry,
                        today=day,
                        timezone=self.rt.timezone,
                        definition=definition,
                    )
            self.tally.admitted += len(arriving)

    def work(self, day: date) -> None:
        tz = self.rt.timezone
        with transaction(self.rt.engine) as session:
            tasks = actionable_tasks(session, now=at(day, tz, 16))
            done: dict[str, list[Completion]] = {"coordinator": [], "clinician": []}
            labs: dict[int, list[ObservationCreate]] = {}
            for t in tasks:
                if t.dedupe_key.startswith("dq:"):
                    continue  # data problems wait for a person who can fix the data
                if t.dedupe_key.startswith("resp:"):
                    continue  # signed through a transition (below), which closes the task
                when = self.fate(t)
                if when is None or when > day:
                    continue
                minute = int(_unit(self.seed, t.id, "minute") * 8 * 60)
                moment = at(day, tz, 8) + timedelta(minutes=minute)
                result = self.results(t, moment, labs)
                role = "clinician" if t.role_queue == "clinician" else "coordinator"
                by = CLINICIAN.name if role == "clinician" else COORDINATOR.name
                done[role].append(Completion(t.id, t.patient_id, moment, by, result))
                if when <= t.due_date:
                    self.tally.completed_on_time += 1
                else:
                    self.tally.completed_late += 1
                if t.kind == "bone_marrow_assessment":
                    self.marrow(session, t, day)
            complete_tasks(session, completions=done["coordinator"], actor=COORDINATOR)
            complete_tasks(session, completions=done["clinician"], actor=CLINICIAN)
            for pid, observations in labs.items():
                add_observations(session, patient_id=pid, observations=observations, actor=LAB)
        self.sign(day)

    def results(
        self, t: OpenTask, moment: datetime, labs: dict[int, list[ObservationCreate]]
    ) -> dict[str, Any] | None:
        """The synthetic result of a task; lab values also become observations."""
        if not t.result_fields:
            return None
        rng = random.Random(f"{self.seed}:{t.id}")
        result: dict[str, Any] = {}
        for name in self.labs.expand(t.result_fields):
            test = self.labs.tests.get(name)
            if test is not None and name in LABS:
                low, high = LABS[name]
                if name in ABNORMAL and rng.random() < ABNORMAL_SHARE:
                    value = ABNORMAL[name](rng)
                    self.tally.abnormal_results += 1
                else:
                    value = round(rng.uniform(low, high), 2)
                labs.setdefault(t.patient_id, []).append(
                    ObservationCreate(
                        code=name,
                        value=value,
                        unit=test.canonical.code,
                        entered_value=value,
                        entered_unit=test.canonical.code,
                        observed_at=moment,
                        source="demo-lab",
                    )
                )
                self.tally.lab_results += 1
                result[name] = value
            elif name in NON_LAB_RESULTS:
                result[name] = NON_LAB_RESULTS[name]
        return result or None

    def marrow(self, session: Any, t: OpenTask, day: date) -> None:
        """A response marrow comes back; the clinician will sign it in a day or two."""
        rng = random.Random(f"{self.seed}:marrow:{t.id}")
        remission = rng.random() < 0.7
        blasts = round(rng.uniform(0.5, 3.5), 1) if remission else round(rng.uniform(8, 40), 1)
        session.add(
            ResponseAssessmentRecord(
                patient_id=t.patient_id,
                assessed_on=day,
                marrow_blast_pct=blasts,
                trilineage_hematopoiesis=remission,
                circulating_blasts=not remission,
                anc_per_ul=round(rng.uniform(1100, 3500)) if remission else 400,
                platelets_per_ul=round(rng.uniform(110000, 250000)) if remission else 30000,
                end_of_induction=True,
                mrd_method="flow",
                mrd_value=0.00005 if remission else 0.02,
                mrd_sensitivity=0.0001,
                recorded_by=LAB.name,
            )
        )
        self.tally.marrows += 1
        category = ResponseCategory.CR if remission else ResponseCategory.REFRACTORY
        self.to_sign[t.patient_id] = (day + timedelta(days=1 + rng.randrange(2)), category)

    def sign(self, day: date) -> None:
        """The invented clinician signs the responses due today (a person decides, not the tracker)."""
        for pid, (when, category) in sorted(self.to_sign.items()):
            if when > day:
                continue
            del self.to_sign[pid]
            try:
                with transaction(self.rt.engine) as session:
                    self._sign(session, pid, category, day)
                self.tally.signatures += 1
            except PathwayError:
                self.tally.refused_signatures += 1

    def _sign(self, session: Any, pid: int, category: ResponseCategory, day: date) -> None:
        from sqlalchemy import text

        phase, eligible = session.execute(
            text(
                "SELECT i.phase, (SELECT hct_eligible FROM fitness_assessment f "
                "WHERE f.patient_id = i.patient_id ORDER BY assessed_at DESC, id DESC LIMIT 1) "
                "FROM pathway_instance i WHERE i.patient_id = :p AND i.ended_at IS NULL"
            ),
            {"p": pid},
        ).one()
        if phase not in ("induction", "response_assessment"):
            # A later marrow (e.g. revumenib's day 56): no phase to move; the
            # signature task waits for a real clinician in the web app.
            raise PathwayError("no transition to sign with")
        when = at(day, self.rt.timezone, 11)
        common = {
            "session": session,
            "patient_id": pid,
            "actor": CLINICIAN,
            "definition": self.rt.definition(None),
            "as_of": day,
            "timezone": self.rt.timezone,
            "at": when,
        }
        if phase == "induction":
            apply_transition(
                event="begin_response_assessment", reason="response marrow resulted", **common
            )
        if category is ResponseCategory.CR:
            event = "remission_to_hct" if eligible == "yes" else "remission_without_hct"
            reason = "CR on marrow and MRD; " + (
                "transplant referral" if eligible == "yes" else "not transplant-eligible"
            )
        else:
            event, reason = "record_refractory", "no remission at the end of induction"
        apply_transition(
            event=event,
            reason=reason,
            signed_response=category,
            signature=DEMO_SIGNATURE,
            **common,
        )


def arrivals(first_day: date, today: date) -> dict[date, list[DemoPatient]]:
    """The cohort spread over the simulated days, in its order; the last arrive days before today."""
    span = max((today - first_day).days, 1)
    spread: dict[date, list[DemoPatient]] = {}
    for i, entry in enumerate(COHORT):
        day = first_day + timedelta(days=(i * span) // len(COHORT))
        spread.setdefault(min(day, today), []).append(entry)
    return spread


def simulate_clinic(
    first_day: date,
    now: datetime,
    seed: int = 2026,
    on_day_done: Callable[[date], None] | None = None,
) -> dict[str, Any]:
    """Simulate clinic days from ``first_day`` to yesterday, then run today's jobs at ``now``."""
    rt = current_runtime()
    today = now.astimezone(zone(rt.timezone)).date()
    clinic = Clinic(rt, seed=seed, arrivals=arrivals(first_day, today))
    day = first_day
    while day < today:
        clinic.simulate(day)
        if on_day_done is not None:
            on_day_done(day)
        day += timedelta(days=1)
    clinic.today(now)
    return clinic.tally.__dict__
