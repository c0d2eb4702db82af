"""The episode units of the adherence indicators: a population, its evidence, its window's end."""

from __future__ import annotations

from models.repositories.adherence_filters import (
    Params,
    completed,
    conditions,
    results_present,
    task_filter,
)
from pathways.engine import Evidence, Indicator, TaskFilter

# The class of a unit from its evidence instant and its window's end.
UNIT_CLASS = """CASE
        WHEN met_at IS NOT NULL AND (end_at IS NULL OR met_at < end_at) THEN 'on_time'
        WHEN met_at IS NULL AND excusable THEN 'excused'
        WHEN met_at IS NOT NULL THEN 'late'
        WHEN end_at > :now THEN 'pending'
        ELSE 'missed' END"""


def _all_done(ev: Evidence, p: Params) -> tuple[str, str]:
    """Evidence: every listed rule done, each in a task asking for its results."""
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
        min(g.completed_at) FILTER (WHERE {completed("g")}
            AND {results_present(f.with_results, "g", p)}) AS done_at,
        coalesce(bool_and(g.cls = 'excused'), false) AS excused
    FROM pop CROSS JOIN unnest({p(f.rules, "text[]")}) AS r(rule)
    LEFT JOIN adh_task g ON g.ep_id = pop.ep_id AND g.rule_id = r.rule
        AND {task_filter(single, "g", p)}
    GROUP BY pop.ep_id, r.rule
) per_rule GROUP BY ep_id""",
        "own",
    )


def _done(ev: Evidence, p: Params) -> tuple[str, str]:
    """Evidence: a matching task done, with the results it asks for."""
    assert ev.tasks is not None  # noqa: S101
    return (
        f"""
SELECT g.ep_id, min(g.completed_at) AS met_at, NULL::boolean AS excusable,
    NULL::text AS note
FROM adh_task g JOIN pop ON pop.ep_id = g.ep_id
WHERE {task_filter(ev.tasks, "g", p)} AND {completed("g")}
    AND {results_present(ev.tasks.with_results, "g", p)}
GROUP BY g.ep_id""",
        "group",
    )


def _fitness(ev: Evidence, p: Params) -> tuple[str, str]:
    """Evidence: a fitness assessment recorded, on the form or in a task."""
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
    WHERE {task_filter(ev.tasks, "g", p)} AND {completed("g")}
        AND coalesce(g.result->>'fitness_category', '') <> ''
        AND coalesce(g.result->>'ecog', '') <> '' AND ({in_result})
) found GROUP BY ep_id""",
        "group",
    )


def _marrow(ev: Evidence, p: Params) -> tuple[str, str]:
    """Evidence: a marrow assessment recorded."""
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


def _first_induction(ev: Evidence, p: Params) -> tuple[str, str]:
    """Evidence: the first induction is one of the options."""
    return (
        f"""
SELECT pop.ep_id, CASE WHEN pop.ind_regimen = ANY({p(ev.options, "text[]")})
    THEN pop.ind_d1_at END AS met_at, false AS excusable,
    'first induction: ' || coalesce(pop.ind_regimen, 'none') AS note
FROM pop""",
        "own",
    )


def _tki(ev: Evidence, p: Params) -> tuple[str, str]:
    """Evidence: a kinase-domain mutation result before the TKI start."""
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
    WHERE {task_filter(ev.tasks, "g", p)} AND {completed("g")}
    GROUP BY g.ep_id
) mut ON mut.ep_id = pop.ep_id""",
        "own",
    )


def _track_event(ev: Evidence, p: Params) -> tuple[str, str]:
    """Evidence: the CNS track closed after CNS-directed therapy."""
    return (
        """
SELECT pop.ep_id, pop.cns_complete_at AS met_at, false AS excusable,
    CASE WHEN pop.cns_complete_at IS NULL THEN 'CNS track not closed after CNS-directed therapy'
    END AS note
FROM pop""",
        "own",
    )


_EVIDENCE = {
    "done": _done,
    "fitness": _fitness,
    "marrow": _marrow,
    "first_induction": _first_induction,
    "tki": _tki,
    "track_event": _track_event,
}


def _evidence(ind: Indicator, p: Params) -> tuple[str, str]:
    """(SELECT of ep_id, met_at, excusable, note for the population ``pop``; how ``excusable``
    combines with the planned group)."""
    ev: Evidence = ind.numerator
    if ev.kind == "done" and ev.all_of:
        return _all_done(ev, p)
    return _EVIDENCE.get(ev.kind or "", _track_event)(ev, p)


def episode_units(ind: Indicator, p: Params) -> str:
    d, ev, window = ind.denominator, ind.numerator, ind.window.kind
    where = [conditions(ind)]
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
    WHERE {task_filter(d.planned, "g", p)}
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
