"""Overlays checked after a branch is chosen (IND-02, IND-09..13, CNS-03, FIT-04)."""

from __future__ import annotations

from datetime import date

from pathways.facts import CaseFacts
from pathways.policy import Policy
from pathways.selection._branches import multiply_relapsed
from pathways.selection._draft import Draft
from pathways.vocab import (
    Antigen,
    BranchId,
    HctEligible,
    Lineage,
    OptionId,
    OverlayId,
)


def completed_years(start: date, end: date) -> int:
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def prolonged_remission(
    facts: CaseFacts, policy: Policy, draft: Draft, disease_branch: str
) -> None:
    """DEF-12 / AMB-05 / IND-09: both intervals shown; met if either reaches the threshold."""
    h = facts.history
    if h.relapse_count != 1 or disease_branch not in (
        BranchId.IMMUNOTHERAPY,
        BranchId.CHEMOTHERAPY,
        BranchId.T_CELL,
    ):
        return
    relapse = h.relapse_dates[-1]
    threshold = int(policy("prolonged_remission_years"))
    met_if = str(policy("prolonged_remission_met_if"))  # DEF-12 DEFAULT: either
    parts: list[str] = []
    reached_by: list[bool] = []
    for label, anchor in (
        ("from initial diagnosis", h.initial_diagnosis_date),
        ("from start of initial treatment", h.initial_treatment_start_date),
    ):
        if anchor is None:
            parts.append(f"{label}: date not recorded")
            reached_by.append(False)
            continue
        years = (relapse - anchor).days / 365.25
        reached_by.append(completed_years(anchor, relapse) >= threshold)
        parts.append(f"{label} ({anchor} to relapse {relapse}): {years:.2f} years")
    met = all(reached_by) if met_if == "both" else any(reached_by)
    if not met:
        return
    rule_ids: tuple[str, ...] = ("IND-09", "DEF-12", "AMB-05")
    if disease_branch == BranchId.T_CELL:
        rule_ids += ("NEL-10",)
    draft.offer(
        OptionId.PRIOR_REGIMEN,
        rule_ids,
        f"prolonged prior remission (>= {threshold} years, met if {met_if} interval reaches "
        "it: local policy): retreatment with the initial induction regimen is acceptable; the "
        "clinician decides. Intervals: " + "; ".join(parts),
    )


def option_overlays(facts: CaseFacts, policy: Policy, draft: Draft) -> None:
    """IND-10, IND-11, IND-13 and FIT-04: overlays that follow from the options offered."""
    offered = {i for i in draft.options if i not in draft.excluded}
    chemo = offered & {OptionId.CHEMO_HIGH, OptionId.CHEMO_MODERATE, OptionId.CHEMO_LOW}
    if chemo:
        rituximab(facts, policy, draft)
    if OptionId.BLINATUMOMAB in offered:
        prephase(facts, policy, draft)
    if OptionId.INOTUZUMAB in offered and facts.fitness.hct_eligible is not HctEligible.NO:
        status = facts.fitness.hct_eligible.value if facts.fitness.hct_eligible else "not recorded"
        draft.overlay(
            OverlayId.SOS_RISK_TRANSPLANT_TEAM,
            ("IND-13", "INO-11", "AMB-19"),
            f"Inotuzumab in a possible HCT candidate (hct_eligible: {status}): higher risk of "
            "hepatic SOS/VOD and post-HCT non-relapse mortality; banner to the clinician and "
            "notify the transplant team when inotuzumab is ordered.",
        )
    if OptionId.CHEMO_HIGH in offered:
        limit = int(policy("age_caution_years"))
        if facts.age >= limit:
            draft.overlay(
                OverlayId.AGE_75_CAUTION,
                ("FIT-04",),
                f"Age {facts.age} (>= {limit}): take caution before high-intensity therapy; "
                "age alone does not set fitness. Non-blocking; clinician acknowledges.",
            )


def rituximab(facts: CaseFacts, policy: Policy, draft: Draft) -> None:
    """IND-10: chemotherapy-based regimen, CD20+ blasts and age under the threshold."""
    cd20 = facts.disease.cd20
    if cd20 is None:
        draft.need("disease.cd20")
        return
    age_limit = int(policy("rituximab_age_below_years"))
    if cd20 is Antigen.POSITIVE and facts.age < age_limit:
        threshold = policy("cd20_positive_blast_pct_at_least")
        draft.overlay(
            OverlayId.RITUXIMAB,
            ("IND-10",),
            f"CD20-positive blasts (local definition: >= {threshold} percent of blasts) and age "
            f"{facts.age} < {age_limit}: add rituximab to a chemotherapy-based regimen? "
            "Document the decision.",
        )


def prephase(facts: CaseFacts, policy: Policy, draft: Draft) -> None:
    """IND-11 / DEF-14 / AMB-08: one-week pre-phase before blinatumomab with a high burden."""
    d = facts.disease
    marrow_above = float(policy("prephase_marrow_blast_pct_above"))
    blood_above = float(policy("prephase_peripheral_blasts_per_ul_above"))
    found: list[str] = []
    if d.marrow_blast_pct is not None and d.marrow_blast_pct > marrow_above:
        found.append(f"marrow blasts {d.marrow_blast_pct:g} percent (> {marrow_above:g})")
    if d.peripheral_blasts_per_ul is not None and d.peripheral_blasts_per_ul > blood_above:
        found.append(
            f"peripheral blasts {d.peripheral_blasts_per_ul:g}/microL (> {blood_above:g}, local default)"
        )
    if not found:
        if d.marrow_blast_pct is None and d.peripheral_blasts_per_ul is None:
            draft.need("disease.marrow_blast_pct", "disease.peripheral_blasts_per_ul")
        return
    draft.overlay(
        OverlayId.PREPHASE,
        ("IND-11", "DEF-14", "BLIN-01", "AMB-08"),
        "High leukemic burden (" + "; ".join(found) + "): if blinatumomab is chosen, a "
        "glucocorticoid plus lower-intensity cyclophosphamide (or other chemotherapy) for one "
        "week before it lowers the CRS risk. Thresholds are configurable (the source says "
        "'>50 percent', the EU SmPC '>=50 percent'); the clinician makes the final decision.",
    )


def clinical_trial_prompt(facts: CaseFacts, draft: Draft) -> None:
    """IND-02: always prompt; strongest for Ph+, CD19-/CD22- without KMT2A, multiply relapsed."""
    d = facts.disease
    strong: list[str] = []
    rule_ids = ["IND-02"]
    if d.ph_positive is True:
        strong.append("Ph-positive disease")
        rule_ids.append("PH-05")
    if (
        d.lineage is Lineage.B
        and d.cd19 is Antigen.NEGATIVE
        and d.cd22 is Antigen.NEGATIVE
        and d.kmt2a_rearranged is False
    ):
        strong.append("CD19-/CD22-negative B-ALL without KMT2A rearrangement")
        rule_ids.append("IND-08")
    multiply, why = multiply_relapsed(facts)
    if multiply:
        strong.append(f"multiply relapsed ({why})")
        rule_ids.append("MULTI-01")
    message = "Clinical trial considered? Document yes or no and the reason."
    if strong:
        message += " Strongly encouraged: " + "; ".join(strong) + "."
    draft.overlay(OverlayId.CLINICAL_TRIAL_PROMPT, tuple(rule_ids), message)


def cns_prophylaxis(facts: CaseFacts, draft: Draft) -> None:
    """CNS-03 (all patients), with CNS-05 when CNS involvement is documented."""
    message = (
        "CNS prophylaxis is suggested for all r/r patients (Grade 2C): systemic and/or "
        "intrathecal (methotrexate, cytarabine or triple IT); regimen per institution; "
        "continues through induction and consolidation."
    )
    rule_ids: tuple[str, ...] = ("CNS-03", "CNS-04")
    cns = facts.disease.cns_status
    if cns is not None and cns.value == "involved":
        message += (
            " CNS involvement is documented: cranial RT (typically 24 Gy in 12 fractions) plus "
            ">=6 preservative-free IT treatments; timing with radiation oncology."
        )
        rule_ids += ("CNS-05",)
    elif cns is None:
        message += " CNS status not yet known: diagnostic LP with the first IT therapy (CNS-01)."
        rule_ids += ("CNS-01",)
        draft.need("disease.cns_status")
    if OptionId.NELARABINE in draft.options:
        message += " Nelarabine with IT therapy or RT raises neurotoxicity (NEL-04, CNS-07)."
        rule_ids += ("CNS-07",)
    draft.overlay(OverlayId.CNS_PROPHYLAXIS, rule_ids, message)
