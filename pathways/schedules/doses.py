"""Dose figures on dose tasks: arithmetic for pharmacist checking, never a released dose.

A template's ``dose`` is either a literal — ``{drug, unit, amount}`` or
``{drug, unit, by_day: {day: amount}}`` with an optional ``cap``, worked out
per m² through :func:`pathways.dosing.per_m2` when the unit is per m² — or a
named rule below, for doses that depend on facts (weight band, signed
response, CYP3A4 inhibitors). Rules never choose between clinical options on
their own: when the deciding fact is missing or ambiguous they show every
possibility and say what is awaited (INO-09 with AMB-03).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pathways.decisions import DoseSuggestion
from pathways.dosing import flat, per_m2, revumenib_dose
from pathways.schedules.context import PlanContext
from pathways.vocab import CoursePhase, ResponseCategory

# INO-07 [SRC]: cycle 1 lasts 3 weeks, or 4 when extended; a signed response
# older than C2_D1 - 28 days cannot be the cycle-1 response that INO-09 needs.
INO_CYCLE1_MAX_DAYS = 28
INO_CR_OR_CRI = frozenset({ResponseCategory.CR, ResponseCategory.CRI})
INO_BOTH_SHOWN = frozenset({ResponseCategory.CRH, ResponseCategory.INDETERMINATE})


@dataclass(frozen=True, slots=True)
class DoseResult:
    suggestion: DoseSuggestion | None
    label: str
    detail: dict[str, Any] | None = None
    defaults: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DoseSpec:
    """A compiled ``dose`` entry of a template."""

    rule: str | None
    drug: str
    unit: str
    amounts: Mapping[int, float] = field(default_factory=dict)  # by day; key 0 = every day
    cap: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    rule_ids: tuple[str, ...] = ()

    def amount(self, day: int) -> float | None:
        return self.amounts.get(day, self.amounts.get(0))


DoseFn = Callable[[PlanContext, DoseSpec, int], DoseResult]


def _is_per_m2(unit: str) -> bool:
    return "/m2" in unit or "/m²" in unit


def _amount_dose(
    ctx: PlanContext, spec: DoseSpec, amount: float, note: str | None = None
) -> DoseResult:
    if _is_per_m2(spec.unit):
        suggestion = per_m2(
            spec.drug,
            amount,
            spec.unit,
            ctx.facts,
            ctx.policy,
            rule_ids=spec.rule_ids,
            cap=spec.cap,
            note=note,
        )
        return DoseResult(suggestion, f"{amount:g} {spec.unit}", defaults=("bsa_formula",))
    suggestion = flat(spec.drug, amount, spec.unit, rule_ids=spec.rule_ids, note=note)
    return DoseResult(suggestion, f"{amount:g} {spec.unit}")


def literal_dose(ctx: PlanContext, spec: DoseSpec, day: int) -> DoseResult:
    amount = spec.amount(day)
    if amount is None:  # the validator makes this unreachable for shipped templates
        return DoseResult(None, f"dose per signed order ({spec.unit})")
    return _amount_dose(ctx, spec, amount)


def _blinatumomab(ctx: PlanContext, spec: DoseSpec, target: bool) -> DoseResult:
    # BLIN-05 [DEFAULT] (US label): >=45 kg 9 then 28 mcg/day; <45 kg 5 then
    # 15 mcg/m2/day, capped at 9 and 28 mcg/day.
    stage = "target" if target else "start"
    flat_name, m2_name = f"blin_dose_{stage}_mcg_day", f"blin_dose_{stage}_mcg_m2_day"
    band = float(ctx.value("blin_weight_band_kg"))
    flat_amount = float(ctx.value(flat_name))
    m2_amount = float(ctx.value(m2_name))
    used = ("blin_weight_band_kg", flat_name, m2_name)
    weight = ctx.facts.patient.weight_kg
    if weight is None:
        basis = (
            f">= {band:g} kg: {flat_amount:g} mcg/day; < {band:g} kg: {m2_amount:g} mcg/m2/day "
            f"(max {flat_amount:g} mcg/day)"
        )
        suggestion = DoseSuggestion(
            drug="blinatumomab",
            value=None,
            unit="mcg/day",
            basis=f"weight unknown: {basis}",
            rule_ids=spec.rule_ids,
            note="weigh the patient to choose the band",
        )
        return DoseResult(suggestion, "dose by weight band (weight unknown)", defaults=used)
    if weight >= band:
        suggestion = flat(
            "blinatumomab",
            flat_amount,
            "mcg/day",
            rule_ids=spec.rule_ids,
            note=f"weight {weight:g} kg >= {band:g} kg",
        )
        return DoseResult(suggestion, f"{flat_amount:g} mcg/day", defaults=used)
    suggestion = per_m2(
        "blinatumomab",
        m2_amount,
        "mcg/m2/day",
        ctx.facts,
        ctx.policy,
        rule_ids=spec.rule_ids,
        cap=flat_amount,
        note=f"weight {weight:g} kg < {band:g} kg",
    )
    return DoseResult(
        suggestion,
        f"{m2_amount:g} mcg/m2/day (max {flat_amount:g} mcg/day)",
        defaults=(*used, "bsa_formula"),
    )


def blinatumomab_cycle_start(ctx: PlanContext, spec: DoseSpec, day: int) -> DoseResult:
    """BLIN-04/05: induction cycle 1 starts low; later cycles, consolidation and maintenance at the target dose."""
    course = ctx.course
    first = (
        course is not None
        and course.cycle == 1
        and course.phase in (CoursePhase.PREPHASE, CoursePhase.INDUCTION)
    )
    return _blinatumomab(ctx, spec, target=not first)


def blinatumomab_step_up(ctx: PlanContext, spec: DoseSpec, day: int) -> DoseResult:
    """BLIN-05: the step-up dose; its date comes from the signed order (AMB-07)."""
    result = _blinatumomab(ctx, spec, target=True)
    detail = {
        "pharmacist_flag": "AMB-07",
        "discrepancy": (
            "Source: step-up 'after the first eight days'; US label: day 8 (after 7 days at the "
            "starting dose). The step-up date is taken from the signed order, never computed."
        ),
    }
    return DoseResult(result.suggestion, result.label, detail, result.defaults)


def _ino_options(
    ctx: PlanContext, spec: DoseSpec, day: int
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    options: list[dict[str, Any]] = []
    used: tuple[str, ...] = ()
    for label, key in (("CR or CRi", "if_cr_or_cri"), ("less than CR/CRi", "otherwise")):
        amount = float(spec.params[key][day])
        result = _amount_dose(ctx, spec, amount)
        used = result.defaults
        option: dict[str, Any] = {"if": label, "value": amount, "unit": spec.unit}
        if result.suggestion is not None and result.suggestion.calculated_mg is not None:
            option["calculated_mg"] = result.suggestion.calculated_mg
        options.append(option)
    return options, used


def inotuzumab_by_signed_response(ctx: PlanContext, spec: DoseSpec, day: int) -> DoseResult:
    """INO-09: the cycle-2 dose follows the *signed* cycle-1 response; never auto-selected."""
    signed = ctx.facts.signed_response
    course = ctx.course
    valid = (
        signed is not None
        and course is not None
        and signed.signed_on >= course.cycle_start - timedelta(days=INO_CYCLE1_MAX_DAYS)
    )
    if signed is None or not valid or signed.category in INO_BOTH_SHOWN:
        options, used = _ino_options(ctx, spec, day)
        if len({o["value"] for o in options}) == 1:
            # INO-09: D8 and D15 are 0.5 mg/m2 whatever the response; only D1
            # depends on it. The same dose for every reading awaits nothing.
            amount = float(options[0]["value"])
            result = _amount_dose(
                ctx, spec, amount, note="the same for every cycle-1 response (INO-09)"
            )
            return DoseResult(result.suggestion, result.label, None, result.defaults)
        if signed is not None and valid and signed.category is ResponseCategory.CRH:
            why = (
                "signed CRh: whether CRh counts as CR/CRi for the cycle-2 dose is not in the "
                "source (AMB-03); the clinician chooses"
            )
        else:
            why = "awaits the signed cycle-1 response category (INO-09); never auto-selected"
        amounts = " or ".join(f"{o['value']:g}" for o in options)
        suggestion = DoseSuggestion(
            drug=spec.drug,
            value=None,
            unit=spec.unit,
            basis="; ".join(f"{o['if']}: {o['value']:g} {o['unit']}" for o in options),
            rule_ids=spec.rule_ids,
            note=why,
        )
        detail = {"dose_options": options, "dose_awaits": "signed_response", "ambiguity": "AMB-03"}
        return DoseResult(
            suggestion, f"dose awaits the signed response ({amounts} {spec.unit})", detail, used
        )
    key = "if_cr_or_cri" if signed.category in INO_CR_OR_CRI else "otherwise"
    amount = float(spec.params[key][day])
    note = f"signed response {signed.category.value} on {signed.signed_on.isoformat()}; clinician confirms"
    result = _amount_dose(ctx, spec, amount, note=note)
    detail = {"signed_response": signed.category.value, "signed_on": signed.signed_on.isoformat()}
    return DoseResult(
        result.suggestion,
        f"{result.label} (signed {signed.category.value})",
        detail,
        result.defaults,
    )


def revumenib(ctx: PlanContext, spec: DoseSpec, day: int) -> DoseResult:
    """REV-02/03/04: weight band and strong-CYP3A4-inhibitor status (pathways.dosing)."""
    suggestion = revumenib_dose(ctx.facts, ctx.policy)
    used: tuple[str, ...] = ("revumenib_weight_band_kg", "strong_cyp3a4_inhibitors")
    if suggestion.bsa_formula is not None:
        used = (*used, "bsa_formula")
    label = (
        f"{suggestion.value:g} {suggestion.unit}"
        if suggestion.value is not None
        else "dose by weight band (weight unknown)"
    )
    return DoseResult(suggestion, label, {"pharmacist_verification": "AMB-14"}, used)


@dataclass(frozen=True, slots=True)
class DoseRule:
    name: str
    fn: DoseFn
    # Parameters the template must give: name -> "by_day" (a {day: amount} map) or "any".
    params: Mapping[str, str] = field(default_factory=dict)
    rule_ids: tuple[str, ...] = ()


DOSE_RULES: dict[str, DoseRule] = {
    r.name: r
    for r in (
        DoseRule(
            "blinatumomab_cycle_start", blinatumomab_cycle_start, rule_ids=("BLIN-04", "BLIN-05")
        ),
        DoseRule("blinatumomab_step_up", blinatumomab_step_up, rule_ids=("BLIN-05", "AMB-07")),
        DoseRule(
            "inotuzumab_by_signed_response",
            inotuzumab_by_signed_response,
            params={"if_cr_or_cri": "by_day", "otherwise": "by_day"},
            rule_ids=("INO-09", "AMB-03"),
        ),
        DoseRule("revumenib", revumenib, rule_ids=("REV-02", "REV-03", "REV-04")),
    )
}


def dose_for(ctx: PlanContext, spec: DoseSpec, day: int) -> DoseResult:
    if spec.rule is None:
        return literal_dose(ctx, spec, day)
    return DOSE_RULES[spec.rule].fn(ctx, spec, day)
