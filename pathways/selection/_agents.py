"""Per-agent gates and option notes: immunotherapy (IND-06b..f), CAR-T products, revumenib, chemotherapy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pathways.decisions import DoseSuggestion
from pathways.dosing import on_strong_cyp3a4_inhibitor, revumenib_dose
from pathways.facts import CaseFacts
from pathways.policy import Policy
from pathways.selection._catalogue import regimens
from pathways.selection._draft import Draft
from pathways.vocab import (
    CART_PRODUCTS,
    Antigen,
    Jurisdiction,
    OptionId,
    ResponseCategory,
    RRStatus,
)

# [SRC] NEL-01: the source gives a nelarabine dose only for patients >=16 years.
NELARABINE_MIN_AGE_YEARS = 16


# [SRC] NEL-01: 1500 mg/m2 IV over 2 hours on days 1, 3 and 5 of 21-day cycles.
NELARABINE_MG_PER_M2 = 1500.0


IMMUNOTHERAPY_TARGET: dict[str, str] = {
    # IND-06b [SRC]: blinatumomab for CD19+, inotuzumab for CD22+, every CAR-T
    # product described is CD19-directed (AMB-09).
    OptionId.BLINATUMOMAB: "cd19",
    OptionId.INOTUZUMAB: "cd22",
    OptionId.TISAGENLECLEUCEL: "cd19",
    OptionId.BREXUCABTAGENE: "cd19",
    OptionId.OBECABTAGENE: "cd19",
}


INTENSITY_OPTION = {
    "high": OptionId.CHEMO_HIGH,
    "moderate": OptionId.CHEMO_MODERATE,
    "low": OptionId.CHEMO_LOW,
}


def immunotherapy(
    facts: CaseFacts,
    policy: Policy,
    draft: Draft,
    rule_ids: tuple[str, ...],
    *,
    multiply: bool,
) -> None:
    """IND-06a..h with the gates of IND-06b/c/d, IND-12, MULTI-02 and the warnings of IND-06e/f."""
    for option_id, antigen in IMMUNOTHERAPY_TARGET.items():
        gates = _Gates(ids=list(rule_ids))
        _antigen_gate(facts, option_id, antigen, gates)
        _centre_gate(facts, draft, gates)
        if option_id in CART_PRODUCTS:
            gates.ids += ["IND-06d", "CART-01"]
            cart_gates(facts, policy, option_id, gates.reasons, gates.warnings, gates.notes, draft)
            if option_id == OptionId.TISAGENLECLEUCEL and facts.jurisdiction is Jurisdiction.EU:
                gates.ids.append("AMB-11")
        if multiply:
            gates.ids.append("MULTI-02")
            not_given_before(facts, option_id, gates.reasons)
        _label_notes(facts, policy, option_id, gates)
        _exclude_or_offer(draft, option_id, gates)


@dataclass
class _Gates:
    """What the gates found for one option: why it is excluded, its warnings, notes and rules."""

    ids: list[str]
    reasons: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _antigen_gate(facts: CaseFacts, option_id: str, antigen: str, gates: _Gates) -> None:
    """IND-06b: hard stop when the target antigen is negative or unknown."""
    status = getattr(facts.disease, antigen)
    gate_rules: tuple[str, ...] = (
        ("IND-06b", "AMB-09") if option_id in CART_PRODUCTS else ("IND-06b",)
    )
    if option_id == OptionId.INOTUZUMAB:
        gate_rules = ("IND-06b", "INO-01")
    if status is None:
        gates.reasons.append((f"{antigen.upper()} status unknown", gate_rules))
    elif status is Antigen.NEGATIVE:
        gates.reasons.append((f"{antigen.upper()} negative", gate_rules))


def _centre_gate(facts: CaseFacts, draft: Draft, gates: _Gates) -> None:
    """IND-06c / IND-12: CRS and neurologic-toxicity capability."""
    gates.ids += ["IND-06c", "IND-12"]
    capable = facts.centre.immunotherapy_capable
    if capable is False:
        gates.reasons.append(
            (
                "the centre is not recorded as able to manage CRS and neurologic toxicity",
                ("IND-06c", "IND-12"),
            )
        )
    elif capable is None:
        draft.need("centre.immunotherapy_capable")
        gates.warnings.append(
            "centre capability to manage CRS and neurologic toxicity is not recorded: "
            "verify before the first dose (IND-06c, IND-12)"
        )


def _label_notes(facts: CaseFacts, policy: Policy, option_id: str, gates: _Gates) -> None:
    """The label's warnings (IND-06e/f, Ph+ in the EU) and the inotuzumab note (IND-06g)."""
    ph_positive_eu = facts.disease.ph_positive is True and facts.jurisdiction is Jurisdiction.EU
    if option_id == OptionId.BLINATUMOMAB and ph_positive_eu:
        gates.warnings.append(
            "EU (EMA) approval is for Ph-negative r/r B-ALL; FDA covers Ph-positive too: "
            "warning only, clinician decides (IND-06e, AMB-11)"
        )
        gates.ids += ["IND-06e", "AMB-11"]
    if option_id == OptionId.INOTUZUMAB:
        gates.notes.append(
            "can be given as an outpatient and is tolerated better than blinatumomab, but "
            "carries a higher risk of liver adverse events, especially with a later "
            "allogeneic HCT (IND-06g, INO-01)"
        )
        gates.ids += ["IND-06g", "INO-01"]
        if ph_positive_eu and policy("eu_inotuzumab_ph_prior_tki_warning"):
            gates.warnings.append(
                "EU SmPC (not in source): Ph+ adults should have failed at least one TKI; "
                "verify — warning only (IND-06f, AMB-11)"
            )
            gates.ids += ["IND-06f", "AMB-11"]


def _exclude_or_offer(draft: Draft, option_id: str, gates: _Gates) -> None:
    """Any reason excludes the option (with every reason's rules); else it is offered (IND-06h)."""
    if gates.reasons:
        draft.exclude(
            option_id,
            "; ".join(text for text, _ in gates.reasons),
            tuple(dict.fromkeys(r for _, rules in gates.reasons for r in rules)),
        )
        return
    draft.offer(
        option_id,
        tuple(dict.fromkeys((*gates.ids, "IND-06h"))),
        "; ".join(
            [
                *gates.notes,
                "transplant-eligible responders usually proceed to allogeneic HCT (IND-06h)",
            ]
        ),
        tuple(gates.warnings),
    )


def cart_gates(
    facts: CaseFacts,
    policy: Policy,
    option_id: str,
    reasons: list[tuple[str, tuple[str, ...]]],
    warnings: list[str],
    notes: list[str],
    draft: Draft,
) -> None:
    """IND-06d / IND-12 / CART-01: qualified centre and product scope."""
    cart_qualified = facts.centre.cart_qualified
    if cart_qualified is False:
        reasons.append(("the centre is not a qualified CAR-T centre", ("IND-06d", "IND-12")))
    elif cart_qualified is None:
        draft.need("centre.cart_qualified")
        warnings.append(
            "CAR-T qualification of the centre is not recorded: verify before leukapheresis "
            "(IND-06d, IND-12)"
        )
    if option_id == OptionId.TISAGENLECLEUCEL:
        max_age = int(policy("tisagenlecleucel_max_age_years"))
        min_relapses = int(policy("tisagenlecleucel_min_relapses"))
        if facts.age > max_age:
            reasons.append((f"age over {max_age}", ("IND-06d",)))
        if not refractory(facts) and facts.history.relapse_count < min_relapses:
            reasons.append(
                (
                    f"neither refractory nor after >={min_relapses} relapses "
                    f"({facts.history.relapse_count} recorded)",
                    ("IND-06d",),
                )
            )
        if facts.jurisdiction is Jurisdiction.EU:
            warnings.append("the source states the FDA scope only; verify the EU scope (AMB-11)")
    elif option_id == OptionId.BREXUCABTAGENE:
        notes.append("FDA and EMA: r/r B-ALL in adults")
    elif option_id == OptionId.OBECABTAGENE:
        notes.append(
            "FDA and EMA: r/r B-ALL; the source states no age limit, the US label is for adults "
            "(not in source, verify); less CRS and neurologic toxicity than other CAR-T"
        )


def refractory(facts: CaseFacts) -> bool:
    signed = facts.signed_response
    return facts.history.status is RRStatus.REFRACTORY or (
        signed is not None and signed.category is ResponseCategory.REFRACTORY
    )


def not_given_before(
    facts: CaseFacts, option_id: str, reasons: list[tuple[str, tuple[str, ...]]]
) -> None:
    """MULTI-02 / MULTI-06: CD19/CD22 immunotherapy only if not given before; unknown blocks."""
    prior = facts.history.prior_therapies
    label = "CAR-T" if option_id in CART_PRODUCTS else option_id
    if prior is None:
        reasons.append(
            (
                f"prior {label} exposure unknown: record the prior-therapy list",
                ("MULTI-06", "MULTI-02"),
            )
        )
        return
    given = (
        any(p in CART_PRODUCTS for p in prior) if option_id in CART_PRODUCTS else option_id in prior
    )
    if given:
        reasons.append((f"{label} given before", ("MULTI-02",)))


def revumenib(
    facts: CaseFacts,
    policy: Policy,
    draft: Draft,
    rule_ids: tuple[str, ...],
    *,
    multiply: bool,
    note: str | None = None,
) -> None:
    """IND-07 / MULTI-03 / REV-01..04: the option with its dose arithmetic (never released)."""
    if facts.disease.kmt2a_rearranged is not True:
        reason = (
            "KMT2A status unknown"
            if facts.disease.kmt2a_rearranged is None
            else "no KMT2A rearrangement"
        )
        draft.exclude(OptionId.REVUMENIB, reason, ("REV-01",))
        return
    if multiply:
        prior = facts.history.prior_therapies
        if prior is None:
            draft.exclude(
                OptionId.REVUMENIB,
                "prior revumenib exposure unknown: record the prior-therapy list",
                ("MULTI-06", "MULTI-03"),
            )
            return
        if OptionId.REVUMENIB in prior:
            draft.exclude(
                OptionId.REVUMENIB,
                "revumenib given before (MULTI-03 applies to patients not treated with it)",
                ("MULTI-03",),
            )
            return
    dose = revumenib_dose(facts, policy)
    warnings: list[str] = []
    if on_strong_cyp3a4_inhibitor(facts, policy):
        warnings.append(
            "a strong CYP3A4 inhibitor is on the medication list: lower dose; pharmacist "
            "verifies (REV-04, AMB-14)"
        )
    if facts.jurisdiction is Jurisdiction.EU:
        warnings.append("the source states FDA approval only; verify the EU status (AMB-11)")
    text = f"{dose_text(dose)}; pharmacist verifies every order (AMB-14)"
    draft.offer(
        OptionId.REVUMENIB,
        (*rule_ids, "REV-02", "REV-03", "REV-04"),
        f"{note}; {text}" if note else text,
        tuple(warnings),
    )


def chemotherapy(
    facts: CaseFacts,
    policy: Policy,
    draft: Draft,
    catalogue: dict[str, Any],
    rule_ids: tuple[str, ...],
    note: str | None = None,
) -> None:
    """CHEMO-01..03: intensity by fitness, a display filter only (never a block)."""
    category = facts.fitness.category
    mapping: dict[str, list[str]] = policy("chemotherapy_intensity_by_fitness")
    if category is None:
        draft.need("fitness.category")
        shown = ["high", "moderate", "low"]
    else:
        shown = list(mapping.get(category.value, ["low"]))
    for intensity, option_id in INTENSITY_OPTION.items():
        if intensity in shown:
            draft.offer(
                option_id,
                (*rule_ids, "CHEMO-02"),
                "; ".join(part for part in (note, regimens(catalogue, intensity)) if part),
            )
        elif option_id not in draft.options:
            draft.exclude(
                option_id,
                f"not suggested for fitness category {category.value if category else '?'} "
                "(local display filter): may be chosen with a recorded reason",
                ("CHEMO-03",),
            )


def nelarabine_label_scope(facts: CaseFacts) -> bool:
    h = facts.history
    if h.status is RRStatus.REFRACTORY:
        return True
    return h.prior_therapies is not None and len(h.prior_therapies) >= 2


def dose_text(dose: DoseSuggestion) -> str:
    """One line of dose arithmetic for a note; never a released dose."""
    text = f"dose arithmetic: {dose.basis}"
    if dose.bsa_m2 is not None and dose.calculated_mg is not None:
        # Only a per-m2 dose has arithmetic to show; "270 mg twice daily = 270 mg"
        # would read as a daily total.
        text += f" = {dose.calculated_mg:g} {dose.calculated_unit}"
    if dose.note:
        text += f" ({dose.note})"
    return text
