"""Engine throughput: patients planned, and fully evaluated, per second on one core.

    .venv/bin/python bench/engine_plan.py [--patients 20000] [--seed 7] [--repeat 5] [--chunk 500]
                                          [--parts plan,evaluate,document]

Builds a synthetic mix of patients (workup, every regimen in its first cycles,
blinatumomab maintenance, post-remission, surveillance) across several clinic
zones, then times, on the same cohort:

- ``plan``: the door's ``plan`` alone (``plan_tasks``), what the plan_care flow runs per
  patient;
- ``evaluate``: ``pathways.engine.evaluate``, every part of the engine
  (induction selection, response classification, planned tasks, monitoring
  alerts, the defaults used);
- ``document``: ``evaluate`` plus ``evaluation_document`` (the dict that
  ``carepath evaluate`` prints, without the JSON encoding).

The facts are built before the clock starts, as the flows load snapshots
before they plan. Each chunk of patients is timed several times and its best
run counts, so that other work on a shared machine does not hide the engine's
own speed. The process is one thread: the figures are per core.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from collections import Counter
from datetime import date, timedelta

from pathways.definition import Definition, shipped_definition
from pathways.engine import Policy, evaluate, evaluation_document, plan
from pathways.facts import (
    CaseFacts,
    Course,
    DiseaseFacts,
    FitnessFacts,
    HistoryFacts,
    PatientFacts,
    SignedResponse,
)
from pathways.vocab import (
    Antigen,
    CoursePhase,
    FitnessCategory,
    Goal,
    HctEligible,
    Lineage,
    ResponseCategory,
    RRStatus,
    Sex,
)

ZONES = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "America/Chicago")
# (share of the population, regimen, course phase, days into the course at as_of)
MIX = (
    (10, None, None, 0),
    (14, "blinatumomab", CoursePhase.INDUCTION, 12),
    (12, "inotuzumab_ozogamicin", CoursePhase.INDUCTION, 9),
    (6, "tisagenlecleucel", CoursePhase.INDUCTION, 5),
    (6, "revumenib", CoursePhase.INDUCTION, 20),
    (6, "nelarabine", CoursePhase.INDUCTION, 4),
    (8, "chemotherapy_moderate_intensity", CoursePhase.INDUCTION, 10),
    (14, "blinatumomab", CoursePhase.MAINTENANCE, 30),
    (12, "post_remission", None, 0),
    (12, "surveillance", None, 0),
)


def patient(rng: random.Random, as_of: date) -> CaseFacts:
    share, regimen, phase, into = rng.choices(MIX, weights=[m[0] for m in MIX])[0]
    del share
    dx = as_of - timedelta(days=rng.randint(5, 60))
    facts = CaseFacts(
        as_of=as_of,
        timezone=rng.choice(ZONES),
        patient=PatientFacts(
            birth_date=date(1950 + rng.randint(0, 50), rng.randint(1, 12), rng.randint(1, 28)),
            sex_at_birth=rng.choice([Sex.MALE, Sex.FEMALE]),
            has_testes=rng.random() < 0.5,
            reproductive_potential=rng.random() < 0.3,
            weight_kg=rng.choice([None, 55.0, 72.0, 90.0]),
            height_cm=rng.choice([None, 160.0, 175.0, 185.0]),
        ),
        disease=DiseaseFacts(
            lineage=Lineage.T if regimen == "nelarabine" else Lineage.B,
            cd19=Antigen.POSITIVE,
            cd22=Antigen.POSITIVE,
            ph_positive=rng.random() < 0.25,
            kmt2a_rearranged=regimen == "revumenib",
            marrow_blast_pct=rng.choice([None, 20.0, 70.0]),
            peripheral_blasts_per_ul=rng.choice([None, 2000.0, 20000.0]),
        ),
        history=HistoryFacts(
            status=RRStatus.RELAPSED,
            initial_diagnosis_date=dx - timedelta(days=900),
            relapse_dates=(dx,),
            prior_therapies=("hyper_cvad",),
        ),
        fitness=FitnessFacts(
            category=FitnessCategory.FIT,
            hct_eligible=rng.choice(list(HctEligible)),
            assessed_on=dx + timedelta(days=3),
        ),
        goal=Goal.CURE,
    )
    if regimen in (None,):
        return facts
    if regimen == "post_remission":
        signed = SignedResponse(ResponseCategory.CR, as_of - timedelta(days=rng.randint(1, 25)))
        return dataclasses.replace(facts, signed_response=signed)
    if regimen == "surveillance":
        course = Course(
            regimen="blinatumomab",
            cycle=5,
            cycle_start=as_of - timedelta(days=200),
            phase=CoursePhase.MAINTENANCE,
            ref="course-s",
            last_dose_date=as_of - timedelta(days=rng.randint(30, 500)),
        )
        signed = SignedResponse(ResponseCategory.CR, as_of - timedelta(days=600))
        return dataclasses.replace(facts, treatment=course, signed_response=signed)
    course = Course(
        regimen=regimen,
        cycle=rng.choice([1, 1, 2]),
        cycle_start=as_of - timedelta(days=into + rng.randint(-3, 3)),
        phase=phase or CoursePhase.INDUCTION,
        ref=f"course{rng.randint(1, 10**6)}",
    )
    return dataclasses.replace(facts, treatment=course)


def run_plan(facts: CaseFacts, definition: Definition) -> int:
    return len(plan(facts, definition, Policy(definition)))


def run_evaluate(facts: CaseFacts, definition: Definition) -> int:
    return len(evaluate(facts, definition).tasks)


def run_document(facts: CaseFacts, definition: Definition) -> int:
    return len(evaluation_document(evaluate(facts, definition))["tasks"])


PARTS = {
    "plan": ("plan_tasks", run_plan),
    "evaluate": ("evaluate() (all parts)", run_evaluate),
    "document": ("evaluate() + evaluation_document", run_document),
}


def timed(
    part: str, cohort: list[CaseFacts], definition: Definition, repeat: int, chunk: int
) -> tuple[float, float, int]:
    """(best wall seconds, best CPU seconds, tasks) summed over the chunks."""
    run = PARTS[part][1]
    wall = cpu = 0.0
    tasks = 0
    for begin in range(0, len(cohort), chunk):
        patients = cohort[begin : begin + chunk]
        fastest_wall = fastest_cpu = float("inf")
        for _ in range(repeat):
            count = 0
            started, started_cpu = time.perf_counter(), time.process_time()
            for facts in patients:
                count += run(facts, definition)
            fastest_wall = min(fastest_wall, time.perf_counter() - started)
            fastest_cpu = min(fastest_cpu, time.process_time() - started_cpu)
        wall += fastest_wall
        cpu += fastest_cpu
        tasks += count
    return wall, cpu, tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed runs per chunk; the best counts"
    )
    parser.add_argument("--chunk", type=int, default=500, help="patients per timed chunk")
    parser.add_argument(
        "--parts",
        default="plan,evaluate",
        help=f"comma-separated, of: {', '.join(PARTS)} (default plan,evaluate)",
    )
    args = parser.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; known: {', '.join(PARTS)}")
    rng = random.Random(args.seed)
    definition = shipped_definition()
    as_of = date(2026, 11, 24)
    cohort = [
        patient(rng, as_of + timedelta(days=rng.randint(0, 365))) for _ in range(args.patients)
    ]
    evaluate(cohort[0], definition)  # compile the templates once
    mix = Counter(f.treatment.regimen if f.treatment else "no course" for f in cohort)
    print("mix:", ", ".join(f"{name} {count}" for name, count in mix.most_common()))
    print(
        f"{args.patients} patients; best of {args.repeat} runs per chunk of {args.chunk}; "
        "one thread (figures are per core)"
    )
    for part in parts:
        wall, cpu, tasks = timed(part, cohort, definition, args.repeat, args.chunk)
        print(
            f"{PARTS[part][0]}: {args.patients / wall:,.0f} patients/s wall clock, one core "
            f"({args.patients / cpu:,.0f}/s of CPU time; {tasks / args.patients:.1f} tasks "
            f"per patient, {tasks / wall:,.0f} tasks/s)"
        )


if __name__ == "__main__":
    main()
