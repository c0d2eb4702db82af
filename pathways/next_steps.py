"""Steps that follow a decision not taken yet: shown as "after the signed response", not as nothing.

A task anchored on the signed response (RESP) has no date until a clinician
signs; until then the planner cannot place it, and a transplant-eligible
patient whose marrow suggests CR would show no sign of the allogeneic HCT
referral that POST-01 puts next. ``next_steps`` names such a step with what
it waits for (``after``) and how soon it falls due once that happens. It
comes from the follow-up template itself (title, rules, window), so the step
and the task it becomes once signed say the same thing.

POST-01 [SRC]: for transplant-eligible patients in CR or partial response,
allogeneic HCT is suggested (Grade 2C, "suggested", AMB-24). Partial response
is never computed (DEF-09): it is a clinician-entered category, and a signed
one plans the task itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathways.decisions import ResponseSuggestion
from pathways.facts import CaseFacts
from pathways.model import Definition
from pathways.policy import Policy
from pathways.schedules import compiled_schedules
from pathways.vocab import (
    Goal,
    HctEligible,
    ResponseCategory,
    Role,
    TaskKind,
)

__all__ = ["NextStep", "next_steps"]

AFTER_SIGNED_RESPONSE = "the signed response"
# What DEF-15 can suggest that POST-01 acts on (partial response is clinician-entered only).
SUGGESTED_REMISSION = frozenset({ResponseCategory.CR, ResponseCategory.CRH, ResponseCategory.CRI})


@dataclass(frozen=True, slots=True)
class NextStep:
    id: str
    title: str
    kind: TaskKind
    role: Role
    rule_ids: tuple[str, ...]
    after: str
    # Days after that event by which it is due (None: per the template, no window).
    within_days: int | None = None


def next_steps(
    facts: CaseFacts,
    definition: Definition,
    policy: Policy,
    response: ResponseSuggestion | None,
) -> list[NextStep]:
    """Steps waiting on a decision, for the latest (unsigned) response suggestion."""
    step = _hct_referral(facts, definition, policy, response)
    return [] if step is None else [step]


def _hct_referral(
    facts: CaseFacts,
    definition: Definition,
    policy: Policy,
    response: ResponseSuggestion | None,
) -> NextStep | None:
    """POST-01: the transplant-team review after the signed response, for an eligible patient."""
    if response is None or response.category not in SUGGESTED_REMISSION:
        return None
    if facts.fitness.hct_eligible is not HctEligible.YES or facts.goal is Goal.SYMPTOM_RELIEF:
        return None
    ra, signed = facts.response_assessment, facts.signed_response
    if signed is not None and (ra is None or signed.signed_on >= ra.date):
        # Signed already: a remission plans the task itself, with its dates; any other
        # category is the clinician's answer, and nothing waits on a signature.
        return None
    template = next(
        (t for t in compiled_schedules(definition).followup if t.rule == "POST-01"), None
    )
    if template is None:
        return None
    for name in template.defaults_used:
        policy(name)
    return NextStep(
        id="allogeneic_hct_referral",
        title=(
            f"Allogeneic HCT suggested for a transplant-eligible patient in {response.category.value}"
            f" (POST-01, Grade 2C): {template.title}"
        ),
        kind=template.kind,
        role=template.role,
        rule_ids=tuple(dict.fromkeys([*template.rule_ids, "RESP-07", "AMB-16"])),
        after=AFTER_SIGNED_RESPONSE,
        within_days=template.after_days,
    )
