"""The synthetic two-year history behind bench/adherence_100k.py, one batch of patients at a time.

Each patient is enrolled, worked up, and most start an induction chosen by
their disease (blinatumomab, inotuzumab, CAR-T, revumenib, nelarabine,
chemotherapy); the tasks the engine plans for them get a plausible fate (on
time, late, missed, cancelled, held, skipped, still open), with the lab
results, marrow assessments and TKI prescriptions behind the indicators.
Some relapse and are worked up again; a few enter a trial. Every name is
invented; one seed gives one history.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from pathways.clock import start_of_day

TZ = "America/New_York"
BATCH = 2000
Window = tuple[date, date]
CSF = json.dumps(
    {"csf_cytology": "negative", "csf_flow_cytometry": "negative", "csf_wbc_per_ul": "1"}
)
CSF_FIELDS = json.dumps(["csf_cytology", "csf_flow_cytometry", "csf_wbc_per_ul"])
CART = ("tisa", "brexu", "obe")  # the CAR-T products
HCT = json.dumps({"hct_decision": "allogeneic HCT", "mrd_level": "negative"})
TASK_COLUMNS = [
    "id", "patient_id", "instance_id", "course_id", "dedupe_key", "pathway_version", "kind",
    "rule_id", "title", "section", "regimen", "cycle", "day", "window_start", "due_date",
    "window_end", "not_before", "due", "expires", "safety", "status", "status_reason",
    "role_queue", "result", "result_fields", "completed_at", "completed_by", "escalation_level",
    "closed_as", "plan_hash", "planned_at", "created_at", "updated_at",
]  # fmt: skip


@lru_cache(maxsize=8192)
def midnight(day: date) -> datetime:
    return start_of_day(day, TZ)


@dataclass
class Batch:
    """The rows of one batch of patients, table by table."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table, []).append(row)


@dataclass
class Ids:
    task: int = 0
    course: int = 0
    event: int = 0
    observation: int = 0
    assessment: int = 0
    fitness: int = 0
    medication: int = 0
    relapse: int = 0


@dataclass(frozen=True)
class Course:
    """A patient's first induction course, and the keywords of every task planned on it."""

    p: dict[str, Any]
    regimen: str
    ind_d1: date
    c1: date
    prephase: bool
    kw: dict[str, Any]

    def day(self, n: int) -> date:
        return self.c1 + timedelta(days=n - 1)


class History:
    """Writes one patient's two years: every task with a plausible fate."""

    def __init__(self, rng: random.Random, today: date, now: datetime, ids: Ids) -> None:
        self.rng, self.today, self.now, self.ids = rng, today, now, ids

    # -- tasks --------------------------------------------------------------------

    def fate(self, start: date, end: date) -> tuple[str, datetime | None, str | None, str | None]:
        """(status, completed_at, reason, closed_as) for a task whose window is start..end."""
        rng = self.rng
        opens, closes = midnight(start), midnight(end + timedelta(days=1))
        if opens > self.now:
            return "requested", None, None, None
        r = rng.random()
        if closes > self.now and r < 0.5:
            return "requested", None, None, None
        if r < 0.80:
            span = (min(closes, self.now) - opens).total_seconds()
            return (
                "completed",
                opens + timedelta(seconds=rng.random() * max(span - 60, 1)),
                None,
                None,
            )
        if r < 0.87:
            late = closes + timedelta(hours=rng.randint(1, 96))
            if late < self.now:
                return "completed", late, None, None
            return "requested", None, None, None
        if r < 0.91:
            return "requested", None, None, None
        if r < 0.93:
            return ("cancelled", None, "resolved: the patient was planned on a later day",
                    "unplanned")  # fmt: skip
        if r < 0.95:
            return ("cancelled", None, "No longer applies (clinician)",
                    "cancelled")  # fmt: skip
        if r < 0.97:
            return "on-hold", None, "Held by the clinician: counts too low", None
        if r < 0.99:
            return ("cancelled", None, "Patient declined",
                    "skipped")  # fmt: skip
        return "completed", opens - timedelta(hours=rng.randint(2, 48)), None, None

    def task(
        self,
        batch: Batch,
        p: dict[str, Any],
        rule: str,
        slot: str,
        kind: str,
        start: date,
        end: date,
        *,
        due: date | None = None,
        created: datetime,
        course: int | None = None,
        regimen: str | None = None,
        cycle: int | None = None,
        day: int | None = None,
        result: str | None = None,
        fields: str | None = None,
        fate: tuple[str, datetime | None, str | None, str | None] | None = None,
    ) -> datetime | None:
        self.ids.task += 1
        tid = self.ids.task
        status, completed, reason, closed_as = fate or self.fate(start, end)
        due = due or end
        batch.add(
            "care_task",
            (tid, p["id"], p["instance"], course, f"b{tid}:{rule}:{slot}", "2026.1", kind, rule,
             f"{rule} {slot}", "", regimen, cycle, day, start, due, end, midnight(start),
             midnight(due + timedelta(days=1)), midnight(end + timedelta(days=1)), False, status,
             reason, "coordinator", result if completed else None, fields, completed,
             "bench" if completed else None, 0, closed_as, "bench", created, created, created),
        )  # fmt: skip
        return completed

    # -- one patient -----------------------------------------------------------------

    def patient(self, batch: Batch, pid: int) -> None:
        rng, today = self.rng, self.today
        enrolled = today - timedelta(days=rng.randint(20, 730))
        lineage = "T" if rng.random() < 0.12 else "B"
        cd19 = "positive" if lineage == "B" and rng.random() < 0.85 else "negative"
        cd22 = "positive" if lineage == "B" and rng.random() < 0.85 else "negative"
        ph = lineage == "B" and rng.random() < 0.2
        kmt2a = rng.random() < 0.06
        male = rng.random() < 0.5
        goal = "symptom_relief" if rng.random() < 0.12 else "cure"
        category = rng.choices(["fit", "less_fit", "frail"], [55, 35, 10])[0]
        marrow = rng.uniform(10, 95)
        at = midnight(enrolled) + timedelta(hours=9)
        p = {"id": pid, "instance": pid, "enrolled": enrolled}
        batch.add("patient", (pid, f"B-{pid:06d}", f"Bench Patient {pid}", date(1950 + pid % 50, 1 + pid % 12, 1 + pid % 28),
                              "male" if male else "female", male, goal, False, True, at, at))  # fmt: skip
        batch.add("disease_facts", (pid, lineage, cd19, cd22, "negative", ph, kmt2a,
                                    "involved" if rng.random() < 0.08 else "negative", marrow,
                                    rng.uniform(0, 40000), at, "bench"))  # fmt: skip
        batch.add("disease_history", (pid, "relapsed", enrolled, False, at))
        relapses = [enrolled] + ([enrolled - timedelta(days=400)] if rng.random() < 0.2 else [])
        for day in relapses:
            self.ids.relapse += 1
            batch.add("relapse", (self.ids.relapse, pid, day, at))
        self.ids.fitness += 1
        batch.add("fitness_assessment", (self.ids.fitness, pid, category, rng.randint(0, 3),
                                         rng.randint(0, 5) if rng.random() < 0.6 else None,
                                         "yes" if category == "fit" else "no", "bench", at))  # fmt: skip
        batch.add("pathway_instance", (pid, pid, "rr-all-adult", "2026.1", "induction", "not_started",
                                       "not_applicable", 1, at, at))  # fmt: skip
        self.event(batch, p, "main", "enrol", None, "suspected_rr", at)
        if rng.random() < 0.02:
            self.event(batch, p, "main", "enrol_in_trial", "induction_selection", "clinical_trial",
                       at + timedelta(days=5))  # fmt: skip
            self.workup(batch, p, enrolled, enrolled + timedelta(days=14), at, male)
            return
        regimen = self.regimen(lineage, cd19, cd22, kmt2a, category)
        ind_d1 = enrolled + timedelta(days=rng.randint(10, 20))
        self.workup(batch, p, enrolled, ind_d1 if regimen else enrolled + timedelta(days=14), at,
                    male, fit=category == "fit")  # fmt: skip
        if regimen is None:
            return
        self.induction(batch, p, regimen, ind_d1, marrow, ph, goal)
        if rng.random() < 0.12:
            relapse = ind_d1 + timedelta(days=rng.randint(120, 300))
            if relapse < today:
                when = midnight(relapse) + timedelta(hours=10)
                self.event(batch, p, "main", "record_relapse", "surveillance", "relapse", when)
                self.ids.relapse += 1
                batch.add("relapse", (self.ids.relapse, pid, relapse, when))
                self.workup(batch, p, relapse, relapse + timedelta(days=14),
                            when + timedelta(hours=1), male)  # fmt: skip

    def event(self, batch: Batch, p: dict[str, Any], track: str, event: str, src: str | None,
              dst: str, at: datetime) -> None:  # fmt: skip
        self.ids.event += 1
        batch.add("phase_event", (self.ids.event, p["instance"], p["id"], track, src, dst, event,
                                  "bench", "bench", "{}", at))  # fmt: skip

    def regimen(self, lineage: str, cd19: str, cd22: str, kmt2a: bool, category: str) -> str | None:
        rng = self.rng
        if category == "frail":
            return "chemotherapy_low_intensity" if rng.random() < 0.6 else None
        if rng.random() < 0.03:
            return "prior_induction_regimen"
        if lineage == "T":
            return "nelarabine" if rng.random() < 0.75 else "chemotherapy_high_intensity"
        if "positive" in (cd19, cd22):
            return rng.choices(
                ["blinatumomab", "inotuzumab_ozogamicin", "tisagenlecleucel", "chemotherapy_moderate_intensity"],
                [40, 25, 15, 20],
            )[0]  # fmt: skip
        if kmt2a:
            return "revumenib" if rng.random() < 0.7 else "chemotherapy_moderate_intensity"
        return "chemotherapy_moderate_intensity"

    def workup(self, batch: Batch, p: dict[str, Any], dx: date, ind_d1: date, created: datetime,
               male: bool, fit: bool = False) -> None:  # fmt: skip
        end = max(dx, ind_d1 - timedelta(days=1))
        for rule, slot in (("WU-02", "wu02"), ("WU-03", "wu03"), ("WU-04", "wu04"),
                           ("WU-05", "wu05"), ("WU-08", "wu08"), ("WU-09", "wu09"),
                           ("WU-10", "wu10"), ("WU-12", "wu12"), ("WU-13", "wu13"),
                           ("WU-14", "wu14"), ("WU-15", "wu15"), ("WU-18", "wu18"),
                           ("WU-24", "wu24"), ("WU-28", "wu28"), ("WU-29", "wu29")):  # fmt: skip
            self.task(batch, p, rule, slot, "workup_item", dx, end, created=created)
        self.task(batch, p, "WU-06", "wu06", "workup_item", dx, end, created=created,
                  result='{"cd19": "positive", "cd22": "positive"}',
                  fields='["lineage", "cd19", "cd22", "cd20"]')  # fmt: skip
        self.task(batch, p, "WU-27", "wu27_fitness", "workup_item", dx, end, created=created,
                  result='{"fitness_category": "fit", "ecog": "1", "hct_ci": "2"}')  # fmt: skip
        self.task(batch, p, "WU-23", "wu23_lumbar_puncture", "lumbar_puncture", dx, end,
                  created=created, result=CSF, fields=CSF_FIELDS)  # fmt: skip
        if male:
            self.task(
                batch, p, "WU-11", "wu11_testicular_exam", "workup_item", dx, end, created=created
            )
        if fit:
            self.task(batch, p, "FIT-06", "fit_transplant_referral", "transplant_referral", dx,
                      dx + timedelta(days=7), created=created)  # fmt: skip

    def induction(self, batch: Batch, p: dict[str, Any], regimen: str, ind_d1: date, marrow: float,
                  ph: bool, goal: str) -> None:  # fmt: skip
        """The first induction course and what follows it: CNS, the regimen's own tasks, the
        response marrow, a TKI for Ph+ disease, then the HCT decision or maintenance."""
        rng, pid = self.rng, p["id"]
        prephase = regimen == "blinatumomab" and marrow > 50 and rng.random() < 0.7
        c1 = ind_d1 + timedelta(days=7) if prephase else ind_d1
        created = midnight(ind_d1 - timedelta(days=3)) + timedelta(hours=11)
        self.ids.course += 1
        course = self.ids.course
        batch.add("course", (course, pid, p["instance"], regimen, "induction", 1, c1,
                             ind_d1 if prephase else None, "active", "bench", created))  # fmt: skip
        self.event(batch, p, "main", "start_induction", "induction_selection", "induction", created)
        c = Course(p, regimen, ind_d1, c1, prephase,
                   {"created": created, "course": course, "regimen": regimen, "cycle": 1})  # fmt: skip
        self.cns(batch, c)
        marrow_window, marrow_rule = self.regimen_tasks(batch, c)
        if goal == "cure":
            self.response_marrow(batch, c, marrow_window, marrow_rule)
        if ph and rng.random() < 0.85:
            self.tki(batch, c)
        self.after_response(batch, c, goal, marrow_window)

    def cns(self, batch: Batch, c: Course) -> None:
        """CNS-01 / CNS-04: the diagnostic LP and intrathecal therapy (none before CAR-T)."""
        p, kw, regimen, ind_d1 = c.p, c.kw, c.regimen, c.ind_d1
        it_window = (c.day(1) - timedelta(days=7), c.day(1) + timedelta(days=7))
        if regimen in ("blinatumomab", "inotuzumab_ozogamicin", "revumenib"):
            self.task(batch, p, "CNS-01", "cns_diagnostic_lp", "lumbar_puncture", *it_window, day=1,
                      result=CSF, fields=CSF_FIELDS, **kw)  # fmt: skip
            self.task(batch, p, "CNS-04", "cns_it_prophylaxis", "intrathecal_therapy", *it_window,
                      day=1, **kw)  # fmt: skip
        elif not regimen.startswith(CART):
            self.task(batch, p, "CNS-01", "cns_diagnostic_lp_without_it", "lumbar_puncture",
                      ind_d1 - timedelta(days=7), ind_d1 + timedelta(days=14), day=1, result=CSF,
                      fields=CSF_FIELDS, **kw)  # fmt: skip
            slot = "it_with_nelarabine" if regimen == "nelarabine" else "it_per_protocol"
            self.task(batch, p, "CNS-04", slot, "clinician_review", *it_window, day=1, **kw)

    def regimen_tasks(self, batch: Batch, c: Course) -> tuple[Window, str]:
        """The regimen's own tasks; the response marrow's window and rule."""
        if c.regimen == "blinatumomab":
            return self.blinatumomab(batch, c)
        if c.regimen == "inotuzumab_ozogamicin":
            return self.inotuzumab(batch, c)
        if c.regimen.startswith(CART):
            return self.cart(batch, c)
        if c.regimen == "revumenib":
            return self.revumenib(batch, c)
        if c.regimen == "nelarabine":
            return self.nelarabine(batch, c)
        return (c.ind_d1 + timedelta(days=27), c.ind_d1 + timedelta(days=41)), "CHEMO-04"

    def blinatumomab(self, batch: Batch, c: Course) -> tuple[Window, str]:
        p, kw, day = c.p, c.kw, c.day
        if c.prephase:
            self.task(batch, p, "BLIN-01", "prephase", "dose", c.ind_d1,
                      c.ind_d1 + timedelta(days=6), **kw)  # fmt: skip
        self.task(batch, p, "BLIN-02", "inpatient_c1", "inpatient_monitoring", day(1), day(9),
                  due=day(1), **kw)  # fmt: skip
        for n in range(1, 10):
            self.task(batch, p, "MON-01", "crs_icans_c1", "crs_icans_monitoring", day(n), day(n),
                      day=n, **kw)  # fmt: skip
        for n in (1, 8, 15, 22):
            self.task(batch, p, "MON-03", "cbc", "lab_panel", day(n) - timedelta(days=1),
                      day(n) + timedelta(days=1), due=day(n), day=n, **kw)  # fmt: skip
        return (day(29), day(42)), "BLIN-09"

    def inotuzumab(self, batch: Batch, c: Course) -> tuple[Window, str]:
        rng, pid, p, kw, day = self.rng, c.p["id"], c.p, c.kw, c.day
        for n in (1, 8, 15):
            lft_at = self.task(batch, p, "INO-05", "lft_before_dose", "lab_panel",
                               day(n) - timedelta(days=3), day(n), day=n, **kw)  # fmt: skip
            self.task(batch, p, "INO-03", "premedication", "premedication", day(n), day(n), day=n,
                      **kw)  # fmt: skip
            dose_at = self.task(batch, p, "INO-06", "dose", "dose", day(n), day(n), day=n,
                                fate=("completed", midnight(day(n)) + timedelta(hours=10), None, None)
                                if rng.random() < 0.95 else None, **kw)  # fmt: skip
            minutes = rng.choice((45, 60, 65, 75, 90))
            self.task(batch, p, "INO-04", "observation", "post_infusion_observation", day(n), day(n),
                      day=n, result=json.dumps({"infusion_end_at": "11:00",
                                                "observation_end_at": f"{11 + minutes // 60:02d}:{minutes % 60:02d}"}),
                      **kw)  # fmt: skip
            labs_at = lft_at or (
                dose_at - timedelta(hours=rng.choice((30, 60, 100))) if dose_at else None
            )
            if labs_at is not None:
                for code in ("alt", "ast", "total_bilirubin", "alp"):
                    self.ids.observation += 1
                    batch.add("observation", (self.ids.observation, pid, code, 30.0, "U/L", labs_at,
                                              "bench", "bench", labs_at))  # fmt: skip
        return (day(18), day(21)), "INO-08"

    def cart(self, batch: Batch, c: Course) -> tuple[Window, str]:
        p, kw, c1 = c.p, c.kw, c.c1
        self.task(batch, p, "CART-02", "readiness_infusion", "clinician_review",
                  c1 - timedelta(days=1), c1, **kw)  # fmt: skip
        for n in range(0, 8):
            self.task(batch, p, "CART-04", "crs_icans_daily", "crs_icans_monitoring",
                      c1 + timedelta(days=n), c1 + timedelta(days=n), day=n, **kw)  # fmt: skip
        return (c1 + timedelta(days=24), c1 + timedelta(days=32)), "CART-07"

    def revumenib(self, batch: Batch, c: Course) -> tuple[Window, str]:
        p, kw, day = c.p, c.kw, c.day
        self.task(batch, p, "REV-02", "weight_baseline", "clinician_review",
                  day(1) - timedelta(days=7), day(1), **kw)  # fmt: skip
        for n in range(1, 15):
            self.task(batch, p, "REV-05", "ds_daily", "differentiation_syndrome_check", day(n),
                      day(n), day=n, **kw)  # fmt: skip
        return (day(21), day(35)), "REV-10"

    def nelarabine(self, batch: Batch, c: Course) -> tuple[Window, str]:
        p, kw, day = c.p, c.kw, c.day
        for n in (1, 3, 5):
            self.task(batch, p, "NEL-03", "neuro_before_dose", "neuro_assessment",
                      day(n) - timedelta(days=1), day(n), day=n, **kw)  # fmt: skip
            self.task(batch, p, "NEL-01", "dose", "dose", day(n), day(n), day=n, **kw)
        return (day(21), day(28)), "NEL-08"

    def response_marrow(self, batch: Batch, c: Course, window: Window, rule: str) -> None:
        """The response marrow task and, once it is done, the assessment it recorded."""
        rng, pid = self.rng, c.p["id"]
        done = self.task(batch, c.p, rule, "response_marrow", "bone_marrow_assessment", *window,
                         day=28, **c.kw)  # fmt: skip
        if done is not None:
            self.ids.assessment += 1
            batch.add("response_assessment", (self.ids.assessment, pid, c.kw["course"],
                                              (done.astimezone(midnight(c.c1).tzinfo)).date(),
                                              rng.uniform(0, 10), True,
                                              rng.random() * 1e-3 if rng.random() < 0.85 else None,
                                              "flow", "{}", "bench", done))  # fmt: skip

    def tki(self, batch: Batch, c: Course) -> None:
        """PH-02: a TKI started around IND_D1, after the mutation testing before it."""
        rng, pid, ind_d1 = self.rng, c.p["id"], c.ind_d1
        start = ind_d1 + timedelta(days=rng.randint(-2, 3))
        self.ids.medication += 1
        batch.add("medication", (self.ids.medication, pid, rng.choice(("dasatinib", "ponatinib")),
                                 start, midnight(start) + timedelta(hours=8)))  # fmt: skip
        self.task(batch, c.p, "PH-02", "ph_mutation_before_tki", "clinician_review",
                  ind_d1 - timedelta(days=7), ind_d1, **c.kw)  # fmt: skip

    def after_response(self, batch: Batch, c: Course, goal: str, marrow_window: Window) -> None:
        """After the response: the HCT decision, or blinatumomab maintenance every 84 days."""
        rng, p = self.rng, c.p
        resp = marrow_window[1] + timedelta(days=3)
        if goal == "cure" and rng.random() < 0.6 and resp < self.today:
            created = midnight(resp) + timedelta(hours=12)
            if rng.random() < 0.5:
                self.task(batch, p, "POST-03", "hct_decision_escalation", "clinician_review", resp,
                          resp + timedelta(days=30), created=created, result=HCT,
                          fields='["hct_decision"]')  # fmt: skip
            elif c.regimen == "blinatumomab":
                first = c.c1 + timedelta(days=90)
                for k in range(4):
                    due = first + timedelta(days=84 * k)
                    self.task(batch, p, "BLIN-10", "maintenance_start", "maintenance_cycle_start",
                              due - timedelta(days=7), due + timedelta(days=7), due=due,
                              created=created, regimen="blinatumomab")  # fmt: skip
            for month in range(1, 7):
                due = resp + timedelta(days=30 * month)
                self.task(batch, p, "POST-12", "surveillance_year_1", "lab_panel",
                          due - timedelta(days=7), due + timedelta(days=7), due=due, created=created)  # fmt: skip


TABLES = {
    "patient": ["id", "mrn", "display_name", "birth_date", "sex_at_birth", "has_testes", "goal",
                "declines_therapy", "active", "created_at", "updated_at"],
    "disease_facts": ["patient_id", "lineage", "cd19", "cd22", "cd20", "ph_positive",
                      "kmt2a_rearranged", "cns_status", "marrow_blast_pct",
                      "peripheral_blasts_per_ul", "updated_at", "updated_by"],
    "disease_history": ["patient_id", "status", "rr_diagnosis_date", "prior_therapies_recorded",
                        "updated_at"],
    "relapse": ["id", "patient_id", "relapse_date", "recorded_at"],
    "fitness_assessment": ["id", "patient_id", "category", "ecog", "hct_ci", "hct_eligible",
                           "assessed_by", "assessed_at"],
    "pathway_instance": ["id", "patient_id", "pathway_name", "pathway_version", "phase",
                         "cns_track", "testis_track", "episode", "started_at", "phase_since"],
    "phase_event": ["id", "instance_id", "patient_id", "track", "from_state", "to_state", "event",
                    "actor", "reason", "rule_ids", "at"],
    "course": ["id", "patient_id", "instance_id", "regimen", "phase", "cycle_number",
               "anchor_date", "prephase_start", "status", "created_by", "created_at"],
    "care_task": TASK_COLUMNS,
    "observation": ["id", "patient_id", "code", "value", "unit", "observed_at", "source",
                    "recorded_by", "recorded_at"],
    "response_assessment": ["id", "patient_id", "course_id", "assessed_on", "marrow_blast_pct",
                            "trilineage_hematopoiesis", "mrd_value", "mrd_method",
                            "extramedullary_sites", "recorded_by", "recorded_at"],
    "medication": ["id", "patient_id", "name", "started_on", "recorded_at"],
}  # fmt: skip
SEQUENCES = {
    "patient": "patient_id_seq",
    "relapse": "relapse_id_seq",
    "fitness_assessment": "fitness_assessment_id_seq",
    "pathway_instance": "pathway_instance_id_seq",
    "phase_event": "phase_event_id_seq",
    "course": "course_id_seq",
    "care_task": "care_task_id_seq",
    "observation": "observation_id_seq",
    "response_assessment": "response_assessment_id_seq",
    "medication": "medication_id_seq",
}


def batches(patients: int, seed: int, today: date, now: datetime) -> Iterator[Batch]:
    rng = random.Random(seed)
    ids = Ids()
    history = History(rng, today, now, ids)
    for first in range(1, patients + 1, BATCH):
        batch = Batch()
        for pid in range(first, min(first + BATCH, patients + 1)):
            history.patient(batch, pid)
        yield batch
