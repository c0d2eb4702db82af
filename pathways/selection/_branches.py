"""The branch the disease leads to (IND-01..08) and the options of each branch, with the MULTI rules."""

from __future__ import annotations

from typing import Any

from pathways.dosing import per_m2
from pathways.facts import CaseFacts
from pathways.policy import Policy
from pathways.selection._agents import (
    IMMUNOTHERAPY_TARGET,
    NELARABINE_MG_PER_M2,
    NELARABINE_MIN_AGE_YEARS,
    chemotherapy,
    dose_text,
    immunotherapy,
    nelarabine_label_scope,
    revumenib,
)
from pathways.selection._catalogue import names, regimens
from pathways.selection._draft import Draft
from pathways.vocab import (
    Antigen,
    BranchId,
    FitnessCategory,
    Lineage,
    OptionId,
    OverlayId,
    Phase,
    ResponseCategory,
)

BRANCH_RULES: dict[str, tuple[str, ...]] = {
    BranchId.SUPPORTIVE_CARE: ("IND-01", "FIT-07"),
    BranchId.PH_POSITIVE: ("IND-04", "PH-01"),
    BranchId.T_CELL: ("IND-05",),
    BranchId.IMMUNOTHERAPY: ("IND-06", "IND-06a"),
    BranchId.KMT2A: ("IND-07",),
    BranchId.CHEMOTHERAPY: ("IND-08", "CHEMO-01"),
    BranchId.MULTIPLY_RELAPSED: ("IND-03", "DEF-11"),
}


def record_inputs(facts: CaseFacts, draft: Draft) -> None:
    """IND-00 [DER]: the facts the decision needs; each unknown one is listed."""
    d, h = facts.disease, facts.history
    if d.lineage is Lineage.B:
        if d.cd19 is None:
            draft.need("disease.cd19")
        if d.cd22 is None:
            draft.need("disease.cd22")
        if d.cd20 is None:
            draft.need("disease.cd20")
    if d.ph_positive is None:
        draft.need("disease.ph_positive")
    if d.kmt2a_rearranged is None:
        draft.need("disease.kmt2a_rearranged")
    if facts.fitness.category is None:
        draft.need("fitness.category")
    if facts.goal is None:
        draft.need("goal")
    if facts.fitness.hct_eligible is None:
        draft.need("fitness.hct_eligible")
    if h.prior_therapies is None:
        draft.need("history.prior_therapies")
    if h.relapse_dates:
        if h.initial_diagnosis_date is None:
            draft.need("history.initial_diagnosis_date")
        if h.initial_treatment_start_date is None:
            draft.need("history.initial_treatment_start_date")


def branch_of_disease(facts: CaseFacts, draft: Draft) -> str:
    """IND-04..08: the branch the disease features lead to, in the source's order.

    An unknown Ph or KMT2A status never counts as negative: the branch the
    unknown fact could lead to is shown beside the chosen one.
    """
    d = facts.disease
    if d.ph_positive is True:
        return BranchId.PH_POSITIVE
    if d.ph_positive is None:
        draft.alternative(BranchId.PH_POSITIVE)
    if d.lineage is Lineage.T:
        return BranchId.T_CELL
    if Antigen.POSITIVE in (d.cd19, d.cd22):
        return BranchId.IMMUNOTHERAPY
    if d.cd19 is Antigen.NEGATIVE and d.cd22 is Antigen.NEGATIVE:
        if d.kmt2a_rearranged is True:
            return BranchId.KMT2A
        if d.kmt2a_rearranged is None:
            draft.alternative(BranchId.KMT2A)
        return BranchId.CHEMOTHERAPY
    # Neither antigen known positive and at least one unknown: the antigen
    # gates show which status is missing; the CD19-/CD22- branch is shown beside.
    draft.alternative(BranchId.KMT2A if d.kmt2a_rearranged else BranchId.CHEMOTHERAPY)
    return BranchId.IMMUNOTHERAPY


def multiply_relapsed(facts: CaseFacts) -> tuple[bool, str]:
    """DEF-11: two or more relapses, or progressive disease after salvage therapy.

    PD after salvage is read from a signed PD category (a response of this r/r
    episode is a response to salvage) or a clinician-confirmed phase. Refractory
    to salvage without PD is not included: §0.5 leaves SM-10 -> SM-11 to a clinician.
    """
    h = facts.history
    if h.relapse_count >= 2:
        return True, f"{h.relapse_count} relapses recorded"
    if facts.phase is Phase.MULTIPLY_RELAPSED:
        return True, "a clinician confirmed the multiply relapsed phase"
    signed = facts.signed_response
    if signed is not None and signed.category is ResponseCategory.PROGRESSIVE_DISEASE:
        return True, f"progressive disease after salvage therapy (signed {signed.signed_on})"
    return False, ""


def branch_options(
    facts: CaseFacts,
    policy: Policy,
    draft: Draft,
    branch: str,
    catalogue: dict[str, Any],
    *,
    multiply: bool,
) -> None:
    d = facts.disease
    if branch == BranchId.PH_POSITIVE:
        ph_positive(facts, policy, draft, catalogue, multiply=multiply)
    elif branch == BranchId.T_CELL:
        t_cell(facts, policy, draft, catalogue)
    elif branch == BranchId.IMMUNOTHERAPY:
        immunotherapy(facts, policy, draft, ("IND-06a", "IND-06b"), multiply=multiply)
        fallback_if_no_immunotherapy(facts, policy, draft, catalogue)
    elif branch == BranchId.KMT2A:
        revumenib(facts, policy, draft, ("IND-07", "REV-01"), multiply=multiply)
    else:
        chemotherapy(facts, policy, draft, catalogue, ("IND-08", "CHEMO-01", "CHEMO-03"))
    # AMB-12: KMT2A-rearranged T-ALL or Ph+ disease at first relapse — the
    # revumenib rule is written for neither; both branches are shown.
    if (
        d.kmt2a_rearranged is True
        and branch in (BranchId.T_CELL, BranchId.PH_POSITIVE)
        and not multiply
    ):
        draft.alternative(BranchId.KMT2A)
        revumenib(
            facts,
            policy,
            draft,
            ("AMB-12", "REV-01"),
            multiply=False,
            note="the revumenib rule is written for CD19-/CD22- B-ALL and multiply relapsed "
            "disease only; clinician decides between the branches (AMB-12)",
        )


def supportive_care(
    facts: CaseFacts, draft: Draft, disease_branch: str, catalogue: dict[str, Any]
) -> None:
    """IND-01 / FIT-07, with AMB-22: a clinician confirms; frail may still get low intensity."""
    if facts.declines_therapy:
        draft.offer(
            OptionId.SUPPORTIVE_CARE,
            ("IND-01", "SM-12"),
            "the patient declines leukemia-directed therapy; a clinician confirms the route "
            "to supportive/palliative care",
        )
        return
    draft.offer(
        OptionId.SUPPORTIVE_CARE,
        ("IND-01", "FIT-07", "AMB-22"),
        "fitness category frail: supportive/palliative care; a clinician confirms before the "
        "patient leaves the pathway (AMB-22)",
    )
    draft.offer(
        OptionId.CHEMO_LOW,
        ("CHEMO-02", "AMB-22"),
        "low-intensity regimens can be tolerated by older or frail patients: allowed with a "
        f"recorded reason (AMB-22); {regimens(catalogue, 'low')}",
    )
    draft.cite("AMB-22")
    draft.alternative(disease_branch)


def ph_positive(
    facts: CaseFacts,
    policy: Policy,
    draft: Draft,
    catalogue: dict[str, Any],
    *,
    multiply: bool,
) -> None:
    """IND-04 / PH-01..06: a TKI goes with the induction; the TKI is never chosen here."""
    d = facts.disease
    tkis = ", ".join(names(catalogue, "tki_choices"))
    if d.abl1_kinase_mutations is None:
        mutation_text = "ABL1 kinase-domain mutation result: not yet on record"
        draft.need("disease.abl1_kinase_mutations")
        draft.overlay(
            OverlayId.ABL1_MUTATION_TESTING,
            ("WU-07", "PH-02", "AMB-13"),
            "Order ABL1 kinase-domain mutation testing: a result must exist before the TKI "
            "order; the clinician chooses the TKI from it (no mutation-to-TKI mapping, AMB-13).",
        )
    elif d.abl1_kinase_mutations:
        mutation_text = "ABL1 kinase-domain mutations on record: " + ", ".join(
            d.abl1_kinase_mutations
        )
    else:
        mutation_text = "ABL1 kinase-domain mutation testing on record: no mutation found"
    draft.overlay(
        OverlayId.BCR_ABL1_TKI,
        ("IND-04", "PH-01", "PH-02", "PH-06", "POST-07", "AMB-13"),
        "Suggested: a BCR::ABL1 TKI together with the induction, not induction alone (PH-01). "
        f"TKI choices: {tkis}; the clinician chooses by mutation result, toxicity and "
        f"comorbidities — the software maps no mutation to a TKI (AMB-13). {mutation_text}. "
        "Allogeneic HCT follows induction for transplant-eligible patients (PH-06, POST-07).",
    )
    if Antigen.POSITIVE in (d.cd19, d.cd22) or d.cd19 is None or d.cd22 is None:
        # PH-03: TKI + immunotherapy-type induction as in IND-06.
        immunotherapy(facts, policy, draft, ("PH-03", "IND-06a", "IND-06b"), multiply=multiply)
        fallback_if_no_immunotherapy(facts, policy, draft, catalogue)
        if Antigen.POSITIVE not in (d.cd19, d.cd22):
            draft.cite("PH-04")
        return
    # PH-04: CD19-/CD22-: TKI + corticosteroid, or TKI + multiagent chemotherapy,
    # by fitness and preference. TKI + corticosteroid is offered first so that the
    # fitness display filter of the chemotherapy options does not hide it.
    draft.offer(
        OptionId.CHEMO_LOW,
        ("PH-04",),
        "TKI + corticosteroid (PH-04; shown under the nearest option id of the vocabulary)",
    )
    chemotherapy(
        facts,
        policy,
        draft,
        catalogue,
        ("PH-04", "CHEMO-03"),
        note="with a TKI: multiagent chemotherapy as used for Ph+ ALL (PH-04); no consensus",
    )


def t_cell(facts: CaseFacts, policy: Policy, draft: Draft, catalogue: dict[str, Any]) -> None:
    """IND-05 / NEL-01..10: nelarabine-based induction; alternatives of NEL-09."""
    age = facts.age
    if age < NELARABINE_MIN_AGE_YEARS:
        draft.exclude(
            OptionId.NELARABINE,
            f"age {age} is under {NELARABINE_MIN_AGE_YEARS}: the source gives no nelarabine dose; "
            "blocked pending clinician review",
            ("NEL-02", "AMB-15"),
        )
    else:
        dose = per_m2(
            OptionId.NELARABINE,
            NELARABINE_MG_PER_M2,
            "mg/m2",
            facts,
            policy,
            rule_ids=("NEL-01",),
        )
        warnings = [
            "neurologic toxicity worsens with intrathecal therapy, radiation, active CNS disease "
            "or a history of neuropathy, yet CNS prophylaxis is suggested for all: the clinician "
            "resolves the schedule (NEL-04, CNS-07, AMB-15)"
        ]
        if facts.disease.cns_status is not None and facts.disease.cns_status.value == "involved":
            warnings.append("active CNS disease is recorded (NEL-04)")
        if not nelarabine_label_scope(facts):
            warnings.append(
                "approval scope (EMA; FDA for patients >=1 year): refractory T-ALL or after "
                ">=2 prior regimens; verify (NEL-07)"
            )
        draft.offer(
            OptionId.NELARABINE,
            ("IND-05", "NEL-01", "NEL-03", "NEL-04", "NEL-06", "NEL-07", "POST-07"),
            "nelarabine-based induction suggested over other regimens (Grade 2C); 1500 mg/m2 IV "
            "over 2 hours on days 1, 3 and 5 of 21-day cycles; "
            f"{dose_text(dose)}; may be combined with etoposide and cyclophosphamide, benefit "
            "over single agent unclear (NEL-06); allogeneic HCT follows induction for "
            "transplant-eligible patients (IND-05, POST-07)",
            tuple(warnings),
        )
    alternatives = "; ".join(names(catalogue, "t_cell_alternatives"))
    chemotherapy(
        facts,
        policy,
        draft,
        catalogue,
        ("NEL-09", "CHEMO-03"),
        note=f"T-ALL alternatives (NEL-09): {alternatives}",
    )


def fallback_if_no_immunotherapy(
    facts: CaseFacts, policy: Policy, draft: Draft, catalogue: dict[str, Any]
) -> None:
    """§5.7 "and as fallback": chemotherapy by fitness when no immunotherapy is eligible."""
    if any(option_id in draft.options for option_id in IMMUNOTHERAPY_TARGET):
        return
    draft.alternative(BranchId.CHEMOTHERAPY)
    chemotherapy(
        facts,
        policy,
        draft,
        catalogue,
        ("CHEMO-01", "CHEMO-03"),
        note="fallback: no immunotherapy option is eligible now (see the exclusions)",
    )


def multiply_relapsed_rules(facts: CaseFacts, policy: Policy, draft: Draft, why: str) -> None:
    """MULTI-01..06 (MULTI-02/03 are applied inside the immunotherapy and revumenib gates)."""
    draft.cite("MULTI-01", "MULTI-02", "MULTI-03", "MULTI-04", "MULTI-06")
    draft.offer(
        OptionId.CLINICAL_TRIAL,
        ("MULTI-01",),
        f"multiply relapsed ({why}): a clinical trial is encouraged when one is available",
    )
    h = facts.history
    if h.prior_therapies is None:
        draft.need("history.prior_therapies")
    if facts.disease.kmt2a_rearranged is True:
        # MULTI-03: any lineage or antigen status; merges with an IND-07 offer.
        revumenib(facts, policy, draft, ("MULTI-03", "REV-01"), multiply=True)
    had_hct = h.had_allogeneic_hct
    if facts.fitness.category is FitnessCategory.FIT:
        if had_hct is None:
            draft.exclude(
                OptionId.ALLOGENEIC_HCT,
                "prior allogeneic HCT unknown: record the prior-therapy list",
                ("MULTI-06", "MULTI-04"),
            )
        elif not had_hct:
            draft.offer(
                OptionId.ALLOGENEIC_HCT,
                ("MULTI-04",),
                "medically fit and no prior allogeneic HCT: allogeneic HCT is an option",
            )
    elif facts.fitness.category is None:
        draft.need("fitness.category")


def donor_lymphocyte_infusion(facts: CaseFacts, draft: Draft) -> None:
    """MULTI-05: relapse after an allogeneic HCT -> donor lymphocyte infusion."""
    h = facts.history
    if not h.relapse_dates:
        return
    latest = h.relapse_dates[-1]
    if h.prior_allogeneic_hct_date is not None:
        if latest > h.prior_allogeneic_hct_date:
            draft.offer(
                OptionId.DLI,
                ("MULTI-05",),
                f"relapse on {latest} after allogeneic HCT on {h.prior_allogeneic_hct_date}: "
                "DLI should be performed; transplant-team referral",
            )
            draft.cite("MULTI-05")
        return
    if h.had_allogeneic_hct:
        draft.need("history.prior_allogeneic_hct_date")
        draft.offer(
            OptionId.DLI,
            ("MULTI-05",),
            "allogeneic HCT on the prior-therapy list without a date: confirm the relapse "
            "followed the transplant; DLI should then be performed",
        )
        draft.cite("MULTI-05")
