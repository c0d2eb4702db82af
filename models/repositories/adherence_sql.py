"""The SQL behind the adherence indicators: one statement per indicator, over two temporary tables.

``prepare`` builds, once per transaction, the patient-episodes (``adh_episode``:
the pathway instance split at each signed relapse, with the facts the
conditions read) and the planned tasks the indicators read (``adh_task``: each
with its episode and its class as of the report's instant). ``units_sql`` turns
one ``pathways.indicators.Indicator`` into a SELECT of its units, each classed
``on_time``, ``late``, ``early``, ``missed``, ``excused`` or ``pending`` with its
period date (a clinic-calendar date), regimen and the task ids behind it.

A task is classed in the clinic's zone by the instants the engine stored:
``not_before`` is inclusive, ``expires`` exclusive (pathways.clock). Completed
in [not_before, expires) is on time; before, early; after, late. Cancelled
(no longer applies) or held with a documented reason is excused; skipped is
what the pathway default ``adherence_skipped_counts_as`` says (missed unless
an institution decides otherwise). An open task past ``expires`` is missed;
before it, pending. A completion after the report's instant does not count yet.

Every value reaches PostgreSQL as a bound parameter; the SQL text is built only
from the validated vocabulary.
"""

from __future__ import annotations

from typing import Any

from models.repositories.adherence_evidence import episode_units
from models.repositories.adherence_filters import (
    Params,
    completed,
    conditions,
    task_filter,
)
from models.task_sql import closed_as, instant, missed, sql, task_columns, timeliness
from pathways.core.prephase import INDUCTION_COURSE_PHASES, PREPHASE_DAYS
from pathways.core.window import Closure, WindowState
from pathways.definition import Definition
from pathways.engine import Indicator, TaskFilter
from pathways.vocab import CnsTrack, CoursePhase, Phase, TaskStatus

_T = task_columns("t")
_SKIPPED = sql(closed_as(_T, Closure.SKIPPED))
# The adherence class of a task: a completion's timeliness and the window's
# "missed" are pathways.core.window's, rendered by models.task_sql.
# The machines' tracks and the course phases whose first cycle starts treatment (IND_D1).
MAIN, CNS = "main", "cns"
FIRST_COURSE_PHASES = ", ".join(f"'{p}'" for p in sorted(INDUCTION_COURSE_PHASES))
# IND_D1 of a course row ``c``: pathways.schedules.context.first_treatment_day (P1 when
# recorded, C1_D1 - PREPHASE_DAYS for a course recorded in its pre-phase, else C1_D1).
IND_D1 = (
    "coalesce(c.prephase_start, CASE WHEN c.phase = "
    f"'{CoursePhase.PREPHASE}' THEN c.anchor_date - CAST(:prephase_days AS integer) END, "
    "c.anchor_date)"
)
CLASS_SQL = f"""CASE
        WHEN t.status = '{TaskStatus.COMPLETED}' AND t.completed_at <= :now
            THEN {sql(timeliness(_T))}
        WHEN {_SKIPPED} THEN :skipped_class
        WHEN t.status = '{TaskStatus.CANCELLED}' THEN 'excused'
        WHEN t.status = '{TaskStatus.ON_HOLD}' AND btrim(coalesce(t.status_reason, '')) <> ''
            THEN 'excused'
        WHEN t.status = '{TaskStatus.FAILED}' OR {sql(missed(_T, instant(":now")))}
            THEN '{WindowState.MISSED}'
        ELSE 'pending' END"""

# Patient-episodes: the instance from its start, split at each signed relapse (SM-09,
# DEF-07: the new r/r episode). Rows recorded before the first split belong to the first.
EPISODES_SQL = f"""
CREATE TEMP TABLE adh_episode ON COMMIT DROP AS
WITH bounds AS (
    SELECT i.patient_id, i.id AS instance_id, i.started_at AS at, i.ended_at AS instance_end
    FROM pathway_instance i
    UNION ALL
    SELECT e.patient_id, e.instance_id, e.at, i.ended_at
    FROM phase_event e JOIN pathway_instance i ON i.id = e.instance_id
    WHERE e.track = '{MAIN}' AND e.event = ANY(CAST(:relapse_events AS text[]))
),
spans AS (
    SELECT row_number() OVER (ORDER BY patient_id, at, instance_id) AS ep_id,
        patient_id, instance_id, at AS started_at,
        row_number() OVER (PARTITION BY patient_id ORDER BY at, instance_id) AS ep_no,
        coalesce(lead(at) OVER (PARTITION BY instance_id ORDER BY at), instance_end,
                 'infinity'::timestamptz) AS ended_at
    FROM bounds
),
spans2 AS (
    SELECT s.*, CASE WHEN s.ep_no = 1 THEN '-infinity'::timestamptz ELSE s.started_at END AS from_at
    FROM spans s
),
ind AS (
    SELECT DISTINCT ON (s.ep_id) s.ep_id, c.id AS course_id, c.regimen,
        {IND_D1} AS ind_d1
    FROM spans2 s
    JOIN course c ON c.patient_id = s.patient_id
        AND c.created_at >= s.from_at AND c.created_at < s.ended_at
    WHERE c.cycle_number = 1 AND c.phase IN ({FIRST_COURSE_PHASES})
    ORDER BY s.ep_id, c.anchor_date, c.id
),
events AS (
    SELECT s.ep_id,
        bool_or(e.track = '{MAIN}' AND e.to_state = '{Phase.CLINICAL_TRIAL}') AS in_trial,
        bool_or(e.track = '{MAIN}' AND e.to_state = '{Phase.MULTIPLY_RELAPSED}') AS reached_sm11,
        bool_or(e.track = '{CNS}' AND e.to_state = '{CnsTrack.TREATMENT}') AS cns_treatment,
        min(e.at) FILTER (WHERE e.track = '{CNS}' AND e.from_state = '{CnsTrack.TREATMENT}'
                          AND e.to_state = '{CnsTrack.COMPLETE}') AS cns_complete_at
    FROM spans2 s
    JOIN phase_event e ON e.patient_id = s.patient_id
        AND e.at >= s.started_at AND e.at < s.ended_at
    GROUP BY s.ep_id
),
relapses AS (
    SELECT s.ep_id, count(*) AS n
    FROM spans2 s
    JOIN relapse r ON r.patient_id = s.patient_id
        AND r.relapse_date <= (s.started_at AT TIME ZONE CAST(:tz AS text))::date
    GROUP BY s.ep_id
),
fitness AS (
    SELECT DISTINCT ON (s.ep_id) s.ep_id, f.category
    FROM spans2 s
    LEFT JOIN ind ON ind.ep_id = s.ep_id
    JOIN fitness_assessment f ON f.patient_id = s.patient_id
        AND f.assessed_at < coalesce(ind.ind_d1::timestamp AT TIME ZONE CAST(:tz AS text),
                                     s.ended_at)
    ORDER BY s.ep_id, f.assessed_at DESC, f.id DESC
),
revumenib AS (
    SELECT DISTINCT s.ep_id
    FROM spans2 s
    JOIN prior_therapy pt ON pt.patient_id = s.patient_id AND pt.therapy = 'revumenib'
    UNION
    SELECT DISTINCT s.ep_id
    FROM spans2 s
    JOIN course c ON c.patient_id = s.patient_id AND c.regimen = 'revumenib'
        AND c.created_at < s.started_at AND s.ep_no > 1
)
SELECT s.ep_id, s.patient_id, s.instance_id, s.ep_no, s.started_at, s.from_at, s.ended_at,
    ind.course_id AS ind_course_id, ind.regimen AS ind_regimen, ind.ind_d1,
    ind.ind_d1::timestamp AT TIME ZONE CAST(:tz AS text) AS ind_d1_at,
    p.goal, p.has_testes, d.lineage, d.cd19, d.cd22, d.ph_positive, d.kmt2a_rearranged,
    d.marrow_blast_pct, d.peripheral_blasts_per_ul,
    coalesce(ev.in_trial, false) AS in_trial,
    coalesce(ev.reached_sm11, false) OR coalesce(r.n, 0) >= 2 AS multiply_relapsed,
    coalesce(ev.cns_treatment, false) OR d.cns_status = 'involved' AS cns_involved,
    ev.cns_complete_at,
    coalesce(f.category = 'frail', false) AS frail,
    rv.ep_id IS NOT NULL AS prior_revumenib
FROM spans2 s
JOIN patient p ON p.id = s.patient_id
LEFT JOIN disease_facts d ON d.patient_id = s.patient_id
LEFT JOIN ind ON ind.ep_id = s.ep_id
LEFT JOIN events ev ON ev.ep_id = s.ep_id
LEFT JOIN relapses r ON r.ep_id = s.ep_id
LEFT JOIN fitness f ON f.ep_id = s.ep_id
LEFT JOIN revumenib rv ON rv.ep_id = s.ep_id
"""

TASKS_SQL = f"""
CREATE TEMP TABLE adh_task ON COMMIT DROP AS
SELECT t.id, t.patient_id, e.ep_id, t.rule_id, split_part(t.dedupe_key, ':', -1) AS slot,
    t.kind, t.regimen, t.course_id, t.cycle, t.day, c.phase AS course_phase,
    t.window_start, t.due_date, t.window_end, t.not_before, t.expires,
    t.status, t.completed_at, t.result, t.result_fields,
    ({_SKIPPED}) AS skipped,
    {CLASS_SQL} AS cls
FROM care_task t
JOIN adh_episode e ON e.patient_id = t.patient_id
    AND t.created_at >= e.from_at AND t.created_at < e.ended_at
LEFT JOIN course c ON c.id = t.course_id
WHERE t.rule_id = ANY(CAST(:rules AS text[]))
"""

PREPARE_SQL = (
    "DROP TABLE IF EXISTS adh_task",
    "DROP TABLE IF EXISTS adh_episode",
    EPISODES_SQL,
    "CREATE INDEX ON adh_episode (ep_id)",
    "CREATE INDEX ON adh_episode (patient_id)",
    "ANALYZE adh_episode",
    TASKS_SQL,
    "CREATE INDEX ON adh_task (ep_id)",
    "CREATE INDEX ON adh_task (rule_id)",
    "CREATE INDEX ON adh_task (course_id)",
    # Rule, slot, kind and cycle go together: without these the planner multiplies their
    # selectivities and expects a handful of rows where there are thousands.
    "CREATE STATISTICS ON rule_id, slot, kind, cycle FROM adh_task",
    "ANALYZE adh_task",
)
# Every join of an indicator statement is a large equi-join of episodes or tasks: planned
# as hash joins, a misjudged row count cannot turn one into a rescan per episode.
# (Per-row lookups, such as a dose's lab results, are subplans on an index, not joins.)
PLAN_SETTINGS = ("SET LOCAL enable_nestloop = off", "SET LOCAL enable_nestloop = on")

TIME_OF_DAY = r"'^([01]?[0-9]|2[0-3]):[0-5][0-9]$'"


def relapse_events(definition: Definition) -> list[str]:
    """The main machine's events into ``relapse``."""
    return sorted(
        {t.event for t in definition.machines[MAIN].transitions if t.target == Phase.RELAPSE}
    )


def common_params(definition: Definition, *, timezone: str, now: Any) -> dict[str, Any]:
    """Parameters every statement may use: the zone, the instant, the defaults conditions read."""
    return {
        "tz": timezone,
        "now": now,
        # IND_D1 of a course recorded in its pre-phase without P1, as the engine derives it.
        "prephase_days": PREPHASE_DAYS,
        # Signed relapses split the instance into episodes (SM-09, DEF-07).
        "relapse_events": relapse_events(definition),
        "skipped_class": definition.default("adherence_skipped_counts_as"),
        "prephase_marrow_blast_pct_above": float(
            definition.default("prephase_marrow_blast_pct_above")
        ),
        "prephase_peripheral_blasts_per_ul_above": float(
            definition.default("prephase_peripheral_blasts_per_ul_above")
        ),
    }


# -- units --------------------------------------------------------------------------


def units_sql(ind: Indicator, definition: Definition, p: Params) -> str:
    """A SELECT of the indicator's units: unit_key, patient_id, ep_no, regimen, period_date,
    cls, skipped, task_ids, note."""
    if not ind.computable:
        raise ValueError(f"{ind.id} is not computable: {ind.reason}")
    if ind.unit == "task":
        return _task_units(ind, p)
    if ind.unit == "course":
        return _course_units(ind, p)
    if ind.unit == "dose":
        return _dose_units(ind, definition, p)
    return episode_units(ind, p)


def _task_units(ind: Indicator, p: Params) -> str:
    population = ind.denominator.tasks
    assert population is not None  # noqa: S101 (the validator requires it)
    return f"""
SELECT 't' || t.id AS unit_key, t.patient_id, e.ep_no, t.regimen, t.due_date AS period_date,
    t.cls, t.skipped, ARRAY[t.id] AS task_ids,
    CASE WHEN t.skipped THEN 'skipped' END AS note
FROM adh_task t JOIN adh_episode e ON e.ep_id = t.ep_id
WHERE {task_filter(population, "t", p)} AND {conditions(ind)}"""


def _course_units(ind: Indicator, p: Params) -> str:
    d, ev = ind.denominator, ind.numerator
    where = [f"c.regimen = ANY({p(d.regimens, 'text[]')})", conditions(ind)]
    if d.cycle is not None:
        where.append(f"c.cycle_number = {p(d.cycle)}")
    if d.course_phases:
        where.append(f"c.phase = ANY({p(d.course_phases, 'text[]')})")
    task_ids = "'{}'::int[]"
    if ev.kind == "antigen":
        met = " OR ".join(
            f"(regimen = ANY({p(regimens, 'text[]')}) AND {antigen} = 'positive')"
            for antigen, regimens in ev.antigens
        )
        note = "'target antigen not documented positive'"
    else:  # prephase
        assert ev.tasks is not None and ev.days is not None  # noqa: S101
        task_ids = (
            "coalesce((SELECT array_agg(g.id ORDER BY g.id) FROM adh_task g "
            f"WHERE g.course_id = pop.course_id AND {task_filter(ev.tasks, 'g', p)}), "
            "'{}'::int[])"
        )
        met = (
            f"(prephase_start IS NOT NULL AND anchor_date - prephase_start >= {p(ev.days)})"
            " OR phase = 'prephase'"
            " OR EXISTS (SELECT 1 FROM adh_task g WHERE g.course_id = pop.course_id"
            f" AND {task_filter(ev.tasks, 'g', p)} AND {completed('g')})"
        )
        note = "'no pre-phase recorded before C1_D1'"
    return f"""
WITH pop AS (
    SELECT DISTINCT ON (e.ep_id, c.regimen) c.id AS course_id, c.regimen, c.phase,
        c.anchor_date, c.prephase_start, e.patient_id, e.ep_no, e.cd19, e.cd22
    FROM course c
    JOIN adh_episode e ON e.patient_id = c.patient_id
        AND c.created_at >= e.from_at AND c.created_at < e.ended_at
    WHERE {" AND ".join(where)}
    ORDER BY e.ep_id, c.regimen, c.anchor_date, c.id
)
SELECT 'c' || course_id AS unit_key, patient_id, ep_no, regimen,
    coalesce(prephase_start, anchor_date) AS period_date,
    CASE WHEN {met} THEN 'on_time' ELSE 'missed' END AS cls, false AS skipped,
    {task_ids} AS task_ids,
    CASE WHEN NOT ({met}) THEN {note} END AS note
FROM pop"""


def _dose_units(ind: Indicator, definition: Definition, p: Params) -> str:
    doses, ev = ind.denominator.tasks, ind.numerator
    assert doses is not None  # noqa: S101

    def same_occurrence(f: TaskFilter) -> str:
        return (
            "g.course_id = pop.course_id AND g.cycle IS NOT DISTINCT FROM pop.cycle"
            f" AND g.day IS NOT DISTINCT FROM pop.day AND {task_filter(f, 'g', p)}"
        )

    companions: list[TaskFilter] = []
    if ev.kind == "labs_before":
        assert ev.hours_default is not None  # noqa: S101
        hours = int(definition.default(ev.hours_default))
        met = (
            "(SELECT count(DISTINCT o.code) FROM observation o"
            " WHERE o.patient_id = pop.patient_id"
            f" AND o.code = ANY({p(ev.codes, 'text[]')})"
            f" AND o.observed_at >= pop.completed_at - make_interval(hours => {p(hours)})"
            f" AND o.observed_at <= pop.completed_at) = {p(len(ev.codes))}"
        )
        note = f"'no complete {'/'.join(ev.codes)} panel in the {hours} h before the dose'"
        if ev.companion is not None:
            companions.append(ev.companion)
    else:  # premedication_and_observation
        assert ev.tasks is not None and ev.companion is not None  # noqa: S101
        start, end = p(ev.from_field, "text"), p(ev.to_field, "text")
        minutes = (
            f"CASE WHEN g.result->>{start} ~ {TIME_OF_DAY} AND g.result->>{end} ~ {TIME_OF_DAY}"
            f" THEN mod(((extract(epoch FROM (g.result->>{end})::time)"
            f" - extract(epoch FROM (g.result->>{start})::time)) / 60)::int + 1440, 1440)"
            f" >= {p(ev.minutes)} ELSE false END"
        )
        met = (
            f"EXISTS (SELECT 1 FROM adh_task g WHERE {same_occurrence(ev.tasks)}"
            " AND g.cls = 'on_time')"
            f" AND EXISTS (SELECT 1 FROM adh_task g WHERE {same_occurrence(ev.companion)}"
            f" AND {completed('g')} AND {minutes})"
        )
        note = (
            f"'premedication not recorded on the dose day, or observation under {ev.minutes} min'"
        )
        companions += [ev.tasks, ev.companion]
    related = " OR ".join(f"({same_occurrence(f)})" for f in companions)
    task_ids = (
        "ARRAY[pop.id] || coalesce((SELECT array_agg(g.id ORDER BY g.id) FROM adh_task g"
        f" WHERE {related}), '{{}}'::int[])"
        if related
        else "ARRAY[pop.id]"
    )
    return f"""
WITH pop AS (
    SELECT d.*, e.ep_no FROM adh_task d JOIN adh_episode e ON e.ep_id = d.ep_id
    WHERE {task_filter(doses, "d", p)} AND {completed("d")} AND {conditions(ind)}
)
SELECT 'd' || id AS unit_key, patient_id, ep_no, regimen,
    (completed_at AT TIME ZONE CAST(:tz AS text))::date AS period_date,
    CASE WHEN {met} THEN 'on_time' ELSE 'missed' END AS cls, false AS skipped,
    {task_ids} AS task_ids,
    CASE WHEN NOT ({met}) THEN {note} END AS note
FROM pop"""


def aggregate_sql(units: str) -> str:
    return f"""
WITH units AS ({units})
SELECT cls, coalesce(regimen, '') AS regimen, to_char(period_date, 'YYYY-MM') AS month,
    count(*) AS n, count(*) FILTER (WHERE skipped) AS skipped
FROM units WHERE period_date BETWEEN :start AND :end
GROUP BY 1, 2, 3"""


def drill_sql(units: str, *, classes: bool, regimen: bool, month: bool) -> str:
    where = ["u.period_date BETWEEN :start AND :end"]
    if classes:
        where.append("u.cls = ANY(CAST(:classes AS text[]))")
    if regimen:
        where.append("coalesce(u.regimen, '') = :regimen")
    if month:
        where.append("to_char(u.period_date, 'YYYY-MM') = :month")
    return f"""
WITH units AS ({units})
SELECT u.unit_key, u.patient_id, p.mrn, p.display_name, u.ep_no, u.regimen, u.period_date,
    u.cls, u.skipped, u.task_ids, u.note, count(*) OVER () AS total
FROM units u JOIN patient p ON p.id = u.patient_id
WHERE {" AND ".join(where)}
ORDER BY u.period_date, u.patient_id, u.unit_key
LIMIT :limit OFFSET :offset"""
