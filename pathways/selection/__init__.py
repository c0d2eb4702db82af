"""Induction selection (RULES.md §4-5): the branch, the eligible options, the
excluded options with their reasons, and the overlays.

The engine never ranks or picks (IND-06a, AMB-24). Options come out in one
fixed canonical order — the order of the option vocabulary of CASE-FORMAT.md
(``pathways.vocab.OptionId``) — which is a display order, NOT a ranking; the
same holds for exclusions and overlays (overlay vocabulary order).

Unknown facts stay unknown: an unknown antigen excludes the drug that targets
it with that reason (IND-06b), an unknown prior-therapy list blocks the
multiply-relapsed suggestions (MULTI-06), and every fact the decision needed
and did not have is listed in ``missing`` (IND-00).

Decisions made here where RULES.md leaves room (each also in the report):

- Goal "symptom relief only" (RESP-02) without frailty: §0.5 enters SM-12 for
  it, but IND-01 names only frail/declining patients, and RESP-02 still speaks
  of adjusting treatment by blood counts. The advice is the supportive-care
  branch, and the disease-directed branch is shown beside it
  (``alternative_branches``) for the clinician.
- Frail (IND-01): supportive care, plus low-intensity chemotherapy with a
  recorded reason, and the disease branch beside it, because AMB-22 forbids
  auto-routing a frail patient off the pathway.
- DEF-12 retreatment (IND-09) is offered at first relapse only: at a second
  relapse the interval from initial diagnosis no longer measures the remission
  before this relapse. It is offered in the three branches the source names
  (immunotherapy, CD19-/CD22- chemotherapy, T-cell).
- IND-13 shows the SOS banner when ``hct_eligible`` is yes, pending or not
  recorded (the RULES.md rule line reads "hct_eligible != no").
- PH-04 "TKI + corticosteroid" has no option id of its own; it is shown as the
  note of ``chemotherapy_low_intensity``, the nearest id of the vocabulary.
- When every immunotherapy option is excluded, chemotherapy by fitness is
  shown as the fallback of §5.7 ("and as fallback"), with that note.
"""

from __future__ import annotations

from dataclasses import replace

from pathways.decisions import InductionAdvice
from pathways.facts import CaseFacts
from pathways.model import Definition
from pathways.policy import Policy
from pathways.selection._branches import (
    BRANCH_RULES,
    branch_of_disease,
    branch_options,
    donor_lymphocyte_infusion,
    multiply_relapsed,
    multiply_relapsed_rules,
    record_inputs,
    supportive_care,
)
from pathways.selection._catalogue import validate_selection_section
from pathways.selection._draft import Draft
from pathways.selection._overlays import (
    clinical_trial_prompt,
    cns_prophylaxis,
    option_overlays,
    prolonged_remission,
)
from pathways.vocab import BranchId, FitnessCategory, Goal, Jurisdiction, OptionId


def select_induction(facts: CaseFacts, definition: Definition, policy: Policy) -> InductionAdvice:
    """The induction advice for one patient as of ``facts.as_of`` (IND-00..13).

    Pure: reads facts, the definition's catalogues and the policy's defaults
    (each recorded in ``policy.used``); returns options, never a choice.
    """
    if facts.jurisdiction is None:
        # AMB-11: the clinic's jurisdiction is local policy unless the facts name one.
        facts = replace(facts, jurisdiction=Jurisdiction(policy("jurisdiction")))
    catalogue = definition.section("selection") or {}
    draft = Draft()
    # AMB-24: every option is "suggested" (Grade 2C), never required, never ranked;
    # choosing otherwise needs only a documented reason.
    draft.cite("IND-00", "AMB-24")
    record_inputs(facts, draft)
    disease_branch = branch_of_disease(facts, draft)

    branch: str
    if facts.fitness.category is FitnessCategory.FRAIL or facts.declines_therapy:
        branch = BranchId.SUPPORTIVE_CARE
        supportive_care(facts, draft, disease_branch, catalogue)
        option_overlays(facts, policy, draft)
    elif facts.goal is Goal.SYMPTOM_RELIEF:
        branch = BranchId.SUPPORTIVE_CARE
        draft.offer(
            OptionId.SUPPORTIVE_CARE,
            ("SM-12", "FIT-07", "RESP-02"),
            "goal of therapy is symptom relief only: blood counts guide treatment and "
            "supportive care, no marrow examination is needed (RESP-02); leukemia-directed "
            f"therapy for symptom control remains the clinician's choice (branch {disease_branch})",
        )
        draft.cite("SM-12", "RESP-02")
        draft.alternative(disease_branch)
    else:
        multiply, why = multiply_relapsed(facts)
        branch = BranchId.MULTIPLY_RELAPSED if multiply else disease_branch
        branch_options(facts, policy, draft, disease_branch, catalogue, multiply=multiply)
        if multiply:
            # IND-03: MULTI first, then the disease branch continues (cited too).
            multiply_relapsed_rules(facts, policy, draft, why)
            draft.cite(*BRANCH_RULES[disease_branch])
        donor_lymphocyte_infusion(facts, draft)
        prolonged_remission(facts, policy, draft, disease_branch)
        option_overlays(facts, policy, draft)
        draft.offer(
            OptionId.CLINICAL_TRIAL,
            ("IND-02",),
            "a well-designed clinical trial is often the best therapy to offer",
        )
    draft.cite(*BRANCH_RULES[branch])
    clinical_trial_prompt(facts, draft)
    cns_prophylaxis(facts, draft)
    return draft.advice(branch)


__all__ = ["select_induction", "validate_selection_section"]
