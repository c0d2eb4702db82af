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

from dataclasses import dataclass, field
from typing import Any

from pathways.definition import Definition
from pathways.indicators import Evidence, Indicator, TaskFilter
from pathways.schedules.context import PREPHASE_DAYS

CLASS_SQL = """CASE
        WHEN t.status = 'completed' AND t.completed_at <= :now THEN CASE
            WHEN t.completed_at < t.not_before THEN 'early'
            WHEN t.completed_at < t.expires THEN 'on_time'
            ELSE 'late' END
        WHEN t.status = 'cancelled' AND t.detail->>'closed_as' = 'skipped' THEN :skipped_class
        WHEN t.status = 'cancelled' THEN 'excused'
        WHEN t.status = 'on-hold' AND btrim(coalesce(t.status_reason, '')) <> '' THEN 'excused'
        WHEN t.status = 'failed' OR t.expires <= :now THEN 'missed'
        ELSE 'pending' END"""

# Patient-episodes: the instance from its start, split at each signed relapse (SM-09,
# DEF-07: the new r/r episode). Rows recorded before the first split belong to the first.
EPISODES_SQL = """
CREATE TEMP TABLE adh_episode ON COMMIT DROP AS
WITH bounds AS (
    SELECT i.patient_id, i.id AS instance_id, i.started_at AS at, i.ended_at AS instance_end
    FROM pathway_instance i
    UNION ALL
    SELECT e.patient_id, e.instance_id, e.at, i.ended_at
    FROM phase_event e JOIN pathway_instance i ON i.id = e.instance_id
    WHERE e.track = 'main' AND e.event = 'record_relapse'
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
        coalesce(c.prephase_start,
                 CASE WHEN c.phase = 'prephase' THEN c.anchor_date - CAST(:prephase_days AS integer) END,
                 c.anchor_date) AS ind_d1
    FROM spans2 s
    JOIN course c ON c.patient_id = s.patient_id
        AND c.created_at >= s.from_at AND c.created_at < s.ended_at
    WHERE c.cycle_number = 1 AND c.phase IN ('prephase', 'induction')
    ORDER BY s.ep_id, c.anchor_date, c.id
),
events AS (
    SELECT s.ep_id,
        bool_or(e.track = 'main' AND e.to_state = 'clinical_trial') AS in_trial,
        bool_or(e.track = 'main' AND e.to_state = 'multiply_relapsed') AS reached_sm11,
        bool_or(e.track = 'cns' AND e.to_state = 'treatment') AS cns_treatment,
        min(e.at) FILTER (WHERE e.track = 'cns' AND e.from_state = 'treatment'
                          AND e.to_state = 'complete') AS cns_complete_at
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
    (t.status = 'cancelled' AND t.detail->>'closed_as' = 'skipped') AS skipped,
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

# The named conditions of pathways.indicators.CONDITIONS over an episode row ``e``.
CONDITION_SQL: dict[str, str] = {
    "clinical_trial": "e.in_trial",
    "goal_symptom_relief": "e.goal = 'symptom_relief'",
    "frail": "e.frail",
    "retreatment": "e.ind_regimen = 'prior_induction_regimen'",
    "has_testes": "e.has_testes",
    "b_lineage": "e.lineage = 'B'",
    "t_lineage": "e.lineage = 'T'",
    "cd19_or_cd22_positive": "(e.cd19 = 'positive' OR e.cd22 = 'positive')",
    "cd19_cd22_negative": "(e.cd19 = 'negative' AND e.cd22 = 'negative')",
    "ph_positive": "e.ph_positive",
    "kmt2a_rearranged": "e.kmt2a_rearranged",
    "multiply_relapsed": "e.multiply_relapsed",
    "revumenib_naive": "NOT e.prior_revumenib",
    "cns_involved": "e.cns_involved",
    "high_burden": (
        "(e.marrow_blast_pct > :prephase_marrow_blast_pct_above"
        " OR e.peripheral_blasts_per_ul > :prephase_peripheral_blasts_per_ul_above)"
    ),
}

# The class of a unit from its evidence instant and its window's end.
UNIT_CLASS = """CASE
        WHEN met_at IS NOT NULL AND (end_at IS NULL OR met_at < end_at) THEN 'on_time'
        WHEN met_at IS NULL AND excusable THEN 'excused'
        WHEN met_at IS NOT NULL THEN 'late'
        WHEN end_at > :now THEN 'pending'
        ELSE 'missed' END"""

TIME_OF_DAY = r"'^([01]?[0-9]|2[0-3]):[0-5][0-9]$'"


@dataclass
class Params:
    """Bound parameters of one statement, named p0, p1... (values never enter the SQL text)."""

    values: dict[str, Any] = field(default_factory=dict)

    def __call__(self, value: Any, cast: str | None = None) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = list(value) if isinstance(value, tuple) else value
        return f"CAST(:{name} AS {cast})" if cast else f":{name}"


def common_params(definition: Definition, *, timezone: str, now: Any) -> dict[str, Any]:
    """Parameters every statement may use: the zone, the instant, the defaults conditions read."""
    return {
        "tz": timezone,
        "now": now,
        # IND_D1 of a course recorded in its pre-phase without P1, as the engine derives it.
        "prephase_days": PREPHASE_DAYS,
        "skipped_class": definition.default("adherence_skipped_counts_as"),
        "prephase_marrow_blast_pct_above": float(
            definition.default("prephase_marrow_blast_pct_above")
        ),
        "prephase_peripheral_blasts_per_ul_above": float(
            definition.default("prephase_peripheral_blasts_per_ul_above")
        ),
    }


def _task_filter(f: TaskFilter, alias: str, p: Params) -> str:
    parts = [f"{alias}.rule_id = ANY({p(f.rules, 'text[]')})"]
    if f.slots:
        parts.append(f"{alias}.slot = ANY({p(f.slots, 'text[]')})")
    if f.kinds:
        parts.append(f"{alias}.kind = ANY({p(f.kinds, 'text[]')})")
    if f.cycle is not None:
        parts.append(f"{alias}.cycle = {p(f.cycle)}")
    if f.course_phases:
        parts.append(f"{alias}.course_phase = ANY({p(f.course_phases, 'text[]')})")
    return " AND ".join(parts)


def _results_present(fields: tuple[str, ...], alias: str, p: Params) -> str:
    """Each field present in the result, where the task asks for it (its result_fields)."""
    parts = []
    for name in fields:
        asked = f"{alias}.result_fields @> jsonb_build_array({p(name, 'text')})"
        given = f"coalesce({alias}.result->>{p(name, 'text')}, '') <> ''"
        parts.append(f"(NOT coalesce({asked}, false) OR {given})")
    return " AND ".join(parts) or "true"


def _completed(alias: str) -> str:
    return f"{alias}.status = 'completed' AND {alias}.completed_at <= :now"


def _conditions(ind: Indicator) -> str:
    """The population's conditions and exclusions over episode ``e`` (unknown never excludes)."""
    parts = [f"coalesce({CONDITION_SQL[name]}, false)" for name in ind.denominator.where]
    if ind.denominator.any_of:
        groups = [
            "(" + " AND ".join(f"coalesce({CONDITION_SQL[n]}, false)" for n in group) + ")"
            for group in ind.denominator.any_of
        ]
        parts.append("(" + " OR ".join(groups) + ")")
    parts += [f"NOT coalesce({CONDITION_SQL[name]}, false)" for name in ind.exclusions]
    return " AND ".join(parts) or "true"


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
    return _episode_units(ind, p)


def _task_units(ind: Indicator, p: Params) -> str:
    population = ind.denominator.tasks
    assert population is not None  # noqa: S101 (the validator requires it)
    return f"""
SELECT 't' || t.id AS unit_key, t.patient_id, e.ep_no, t.regimen, t.due_date AS period_date,
    t.cls, t.skipped, ARRAY[t.id] AS task_ids,
    CASE WHEN t.skipped THEN 'skipped' END AS note
FROM adh_task t JOIN adh_episode e ON e.ep_id = t.ep_id
WHERE {_task_filter(population, "t", p)} AND {_conditions(ind)}"""


def _course_units(ind: Indicator, p: Params) -> str:
    d, ev = ind.denominator, ind.numerator
    where = [f"c.regimen = ANY({p(d.regimens, 'text[]')})", _conditions(ind)]
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
            f"WHERE g.course_id = pop.course_id AND {_task_filter(ev.tasks, 'g', p)}), "
            "'{}'::int[])"
        )
        met = (
            f"(prephase_start IS NOT NULL AND anchor_date - prephase_start >= {p(ev.days)})"
            " OR phase = 'prephase'"
            " OR EXISTS (SELECT 1 FROM adh_task g WHERE g.course_id = pop.course_id"
            f" AND {_task_filter(ev.tasks, 'g', p)} AND {_completed('g')})"
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
            f" AND g.day IS NOT DISTINCT FROM pop.day AND {_task_filter(f, 'g', p)}"
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
            f" AND {_completed('g')} AND {minutes})"
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
    WHERE {_task_filter(doses, "d", p)} AND {_completed("d")} AND {_conditions(ind)}
)
SELECT 'd' || id AS unit_key, patient_id, ep_no, regimen,
    (completed_at AT TIME ZONE CAST(:tz AS text))::date AS period_date,
    CASE WHEN {met} THEN 'on_time' ELSE 'missed' END AS cls, false AS skipped,
    {task_ids} AS task_ids,
    CASE WHEN NOT ({met}) THEN {note} END AS note
FROM pop"""


def _evidence(ind: Indicator, p: Params) -> tuple[str, str]:
    """(SELECT of ep_id, met_at, excusable, note for the population ``pop``; how ``excusable``
    combines with the planned group)."""
    ev: Evidence = ind.numerator
    kind = ev.kind
    if kind == "done" and ev.all_of:
        assert ev.tasks is not None  # noqa: S101
        f = ev.tasks
        n = len(f.rules)
        single = TaskFilter(
            rules=f.rules,
            slots=f.slots,
            kinds=f.kinds,
            cycle=f.cycle,
            course_phases=f.course_phases,
        )
        return (
            f"""
SELECT ep_id,
    CASE WHEN count(done_at) = {p(n)} THEN max(done_at) END AS met_at,
    bool_and(done_at IS NOT NULL OR excused) AS excusable,
    CASE WHEN count(done_at) < {p(n)} THEN 'not done: ' || string_agg(rule, ', ' ORDER BY rule)
        FILTER (WHERE done_at IS NULL) END AS note
FROM (
    SELECT pop.ep_id, r.rule,
        min(g.completed_at) FILTER (WHERE {_completed("g")}
            AND {_results_present(f.with_results, "g", p)}) AS done_at,
        coalesce(bool_and(g.cls = 'excused'), false) AS excused
    FROM pop CROSS JOIN unnest({p(f.rules, "text[]")}) AS r(rule)
    LEFT JOIN adh_task g ON g.ep_id = pop.ep_id AND g.rule_id = r.rule
        AND {_task_filter(single, "g", p)}
    GROUP BY pop.ep_id, r.rule
) per_rule GROUP BY ep_id""",
            "own",
        )
    if kind == "done":
        assert ev.tasks is not None  # noqa: S101
        return (
            f"""
SELECT g.ep_id, min(g.completed_at) AS met_at, NULL::boolean AS excusable,
    NULL::text AS note
FROM adh_task g JOIN pop ON pop.ep_id = g.ep_id
WHERE {_task_filter(ev.tasks, "g", p)} AND {_completed("g")}
    AND {_results_present(ev.tasks.with_results, "g", p)}
GROUP BY g.ep_id""",
            "group",
        )
    if kind == "fitness":
        assert ev.tasks is not None  # noqa: S101
        columns = " OR ".join(f"f.{name} IS NOT NULL" for name in ev.instruments)
        in_result = " OR ".join(
            f"coalesce(g.result->>{p(name, 'text')}, '') <> ''" for name in ev.instruments
        )
        return (
            f"""
SELECT ep_id, min(at) AS met_at, NULL::boolean AS excusable, NULL::text AS note FROM (
    SELECT pop.ep_id, f.assessed_at AS at
    FROM pop JOIN fitness_assessment f ON f.patient_id = pop.patient_id
        AND f.assessed_at >= pop.from_at AND f.assessed_at < pop.ended_at
        AND f.assessed_at <= :now
    WHERE f.ecog IS NOT NULL AND ({columns})
    UNION ALL
    SELECT g.ep_id, g.completed_at
    FROM adh_task g JOIN pop ON pop.ep_id = g.ep_id
    WHERE {_task_filter(ev.tasks, "g", p)} AND {_completed("g")}
        AND coalesce(g.result->>'fitness_category', '') <> ''
        AND coalesce(g.result->>'ecog', '') <> '' AND ({in_result})
) found GROUP BY ep_id""",
            "group",
        )
    if kind == "marrow":
        mrd = " AND a.mrd_value IS NOT NULL" if ev.with_mrd else ""
        return (
            f"""
SELECT grp.ep_id,
    min(a.assessed_on::timestamp AT TIME ZONE CAST(:tz AS text)) AS met_at,
    NULL::boolean AS excusable, NULL::text AS note
FROM grp JOIN pop ON pop.ep_id = grp.ep_id
JOIN response_assessment a ON a.patient_id = pop.patient_id
    AND a.assessed_on >= grp.start_date
    AND a.assessed_on::timestamp AT TIME ZONE CAST(:tz AS text) < pop.ended_at
    AND a.recorded_at <= :now
WHERE a.marrow_blast_pct IS NOT NULL{mrd}
GROUP BY grp.ep_id""",
            "group",
        )
    if kind == "first_induction":
        return (
            f"""
SELECT pop.ep_id, CASE WHEN pop.ind_regimen = ANY({p(ev.options, "text[]")})
    THEN pop.ind_d1_at END AS met_at, false AS excusable,
    'first induction: ' || coalesce(pop.ind_regimen, 'none') AS note
FROM pop""",
            "own",
        )
    if kind == "tki":
        assert ev.tasks is not None  # noqa: S101
        return (
            f"""
SELECT pop.ep_id,
    CASE WHEN tki.start_day IS NOT NULL THEN mut.done_at END AS met_at,
    false AS excusable,
    CASE WHEN tki.start_day IS NULL THEN 'no TKI on the medication list through IND_D1'
         WHEN mut.done_at IS NULL THEN 'no kinase-domain mutation result recorded'
         WHEN mut.done_at >= (tki.start_day + 1)::timestamp AT TIME ZONE CAST(:tz AS text)
         THEN 'mutation result after the TKI start' END AS note,
    (tki.start_day + 1)::timestamp AT TIME ZONE CAST(:tz AS text) AS tki_end
FROM pop
LEFT JOIN (
    SELECT pop.ep_id,
        min(coalesce(m.started_on, (m.recorded_at AT TIME ZONE CAST(:tz AS text))::date))
            AS start_day
    FROM pop JOIN medication m ON m.patient_id = pop.patient_id
    WHERE lower(m.name) = ANY({p(ev.options, "text[]")})
        AND m.recorded_at >= pop.from_at AND m.recorded_at < pop.ended_at
        AND m.recorded_at <= :now
        AND (m.stopped_on IS NULL OR m.stopped_on >= pop.ind_d1)
    GROUP BY pop.ep_id
) tki ON tki.ep_id = pop.ep_id
LEFT JOIN (
    SELECT g.ep_id, min(g.completed_at) AS done_at FROM adh_task g
    WHERE {_task_filter(ev.tasks, "g", p)} AND {_completed("g")}
    GROUP BY g.ep_id
) mut ON mut.ep_id = pop.ep_id""",
            "own",
        )
    # track_event
    return (
        """
SELECT pop.ep_id, pop.cns_complete_at AS met_at, false AS excusable,
    CASE WHEN pop.cns_complete_at IS NULL THEN 'CNS track not closed after CNS-directed therapy'
    END AS note
FROM pop""",
        "own",
    )


def _episode_units(ind: Indicator, p: Params) -> str:
    d, ev, window = ind.denominator, ind.numerator, ind.window.kind
    where = [_conditions(ind)]
    if d.starts_induction:
        where.append("e.ind_d1 IS NOT NULL")
    # Materialized: each is computed once, never re-run inside a nested loop when the
    # planner misjudges how many episodes qualify.
    ctes = [f"pop AS MATERIALIZED (SELECT e.* FROM adh_episode e WHERE {' AND '.join(where)})"]
    join_group = ""
    if d.planned is not None:
        ctes.append(f"""grp AS MATERIALIZED (
    SELECT g.ep_id,
        max(g.expires) FILTER (WHERE g.cls <> 'excused') AS open_end,
        max(g.window_end) FILTER (WHERE g.cls <> 'excused') AS end_date,
        min(g.window_start) FILTER (WHERE g.cls <> 'excused') AS start_date,
        max(g.window_end) AS any_end_date,
        bool_and(g.cls = 'excused') AS all_excused,
        bool_or(g.skipped) AS skipped,
        array_agg(g.id ORDER BY g.id) AS task_ids
    FROM adh_task g JOIN pop ON pop.ep_id = g.ep_id
    WHERE {_task_filter(d.planned, "g", p)}
    GROUP BY g.ep_id)""")
        join_group = "JOIN grp ON grp.ep_id = pop.ep_id"
    evidence, excuse = _evidence(ind, p)
    ctes.append(f"ev AS MATERIALIZED ({evidence})")
    excusable = "grp.all_excused" if excuse == "group" else "ev.excusable"
    if window == "task":
        end_at, period = "grp.open_end", "coalesce(grp.end_date, grp.any_end_date)"
    elif window == "workup":
        end_at = "coalesce(pop.ind_d1_at, grp.open_end)"
        period = "coalesce(pop.ind_d1, grp.end_date, grp.any_end_date)"
    elif window == "episode":
        end_at = "pop.ended_at"
        period = (
            "(coalesce(ev.met_at, CASE WHEN pop.ended_at < 'infinity' THEN pop.ended_at END, :now)"
            " AT TIME ZONE CAST(:tz AS text))::date"
        )
    else:  # at_start
        end_at = "ev.tki_end" if ev.kind == "tki" else "NULL::timestamptz"
        period = "pop.ind_d1"
    skipped, task_ids = (
        ("grp.skipped", "grp.task_ids") if d.planned is not None else ("false", "'{}'::int[]")
    )
    ctes.append(f"""u AS (
    SELECT pop.ep_id, pop.patient_id, pop.ep_no, pop.ind_regimen AS regimen,
        {end_at} AS end_at, {period} AS period_date, ev.met_at,
        coalesce({excusable}, false) AS excusable, ev.note,
        {skipped} AS skipped, {task_ids} AS task_ids
    FROM pop {join_group} LEFT JOIN ev ON ev.ep_id = pop.ep_id)""")
    joined = ",\n".join(ctes)
    return f"""
WITH {joined}
SELECT 'e' || ep_id AS unit_key, patient_id, ep_no, regimen, period_date,
    {UNIT_CLASS} AS cls,
    coalesce(skipped, false) AS skipped, coalesce(task_ids, '{{}}'::int[]) AS task_ids,
    CASE WHEN met_at IS NULL OR (end_at IS NOT NULL AND met_at >= end_at) THEN note END AS note
FROM u"""


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
