"""Parts every adherence statement is built from: bound parameters, task filters, conditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pathways.engine import Indicator, TaskFilter

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


@dataclass
class Params:
    """Bound parameters of one statement, named p0, p1... (values never enter the SQL text)."""

    values: dict[str, Any] = field(default_factory=dict)

    def __call__(self, value: Any, cast: str | None = None) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = list(value) if isinstance(value, tuple) else value
        return f"CAST(:{name} AS {cast})" if cast else f":{name}"


def task_filter(f: TaskFilter, alias: str, p: Params) -> str:
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


def results_present(fields: tuple[str, ...], alias: str, p: Params) -> str:
    """Each field present in the result, where the task asks for it (its result_fields)."""
    parts = []
    for name in fields:
        asked = f"{alias}.result_fields @> jsonb_build_array({p(name, 'text')})"
        given = f"coalesce({alias}.result->>{p(name, 'text')}, '') <> ''"
        parts.append(f"(NOT coalesce({asked}, false) OR {given})")
    return " AND ".join(parts) or "true"


def completed(alias: str) -> str:
    return f"{alias}.status = 'completed' AND {alias}.completed_at <= :now"


def conditions(ind: Indicator) -> str:
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
