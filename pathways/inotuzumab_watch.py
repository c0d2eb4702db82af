"""Inotuzumab: the liver hold (INO-05 / MON-05), cytoreduction before the first dose (INO-02),
and the SOS/VOD bilirubin watch (MON-07, INO-11), for ``pathways.monitoring``."""

from __future__ import annotations

from dataclasses import dataclass

from pathways.core.labs import Limit, fmt
from pathways.decisions import Alert
from pathways.facts import CaseFacts, LabResult
from pathways.model import Definition
from pathways.monitoring_labs import Limits, inotuzumab_dose_concerned, lab_inputs, uln_text
from pathways.monitoring_read import (
    BILIRUBIN,
    LFT,
    TRANSAMINASES,
    above,
    course_active,
    latest_result,
    latest_time,
    make_alert,
)
from pathways.policy import Policy
from pathways.vocab import (
    HctEligible,
    OptionId,
    Severity,
)

# --------------------------------------------------------------------------- inotuzumab


def inotuzumab_alerts(
    facts: CaseFacts,
    policy: Policy,
    labs: dict[str, list[LabResult]],
    limits: Limits,
    definition: Definition,
) -> list[Alert]:
    alerts: list[Alert] = []
    on_ino = course_active(facts, OptionId.INOTUZUMAB)
    if on_ino:
        alerts += _liver_hold(facts, policy, labs, limits, definition)
        alerts += _cytoreduction(facts, policy)
    course_is_ino = facts.treatment is not None and facts.treatment.regimen == OptionId.INOTUZUMAB
    prior = facts.history.prior_therapies
    exposed = course_is_ino or (prior is not None and OptionId.INOTUZUMAB in prior)
    if exposed:
        alerts += _sos_bilirubin(facts, labs, limits)
    return alerts


def _liver_hold(
    facts: CaseFacts,
    policy: Policy,
    labs: dict[str, list[LabResult]],
    limits: Limits,
    definition: Definition,
) -> list[Alert]:
    """INO-05 / MON-05: bilirubin >1.5 x ULN AND AST or ALT >2.5 x ULN -> hold the dose.

    Each result is compared against its own ULN or the local reference range. A
    high bilirubin without an AST and ALT result is held too: the rule cannot be
    excluded until they are resulted (the dose waits for the LFT panel, INO-05).
    Short of a hold, liver tests above the ULN are a warning before the next dose.
    """
    liver = _read_liver(policy, labs, limits)
    bili = liver.high_bilirubin
    if bili is not None and (liver.high_transaminases or liver.unknown):
        return [_hold_alert(facts, definition, liver, bili, limits)]
    elevated = [
        r
        for test, r in liver.latest.items()
        if test in liver.uln and above(r.value, 1.0, liver.uln[test].value)
    ]
    return [_elevated_alert(liver, elevated, limits)] if elevated else []


@dataclass(frozen=True, slots=True)
class _Liver:
    """The latest liver tests on inotuzumab, each with its ULN, read against the hold's limits."""

    bili_x: float
    trans_x: float
    latest: dict[str, LabResult]
    uln: dict[str, Limit]
    high_bilirubin: LabResult | None  # the bilirubin, when above the hold's limit
    high_transaminases: list[LabResult]
    unknown: list[str]  # transaminases not resulted

    @property
    def thresholds(self) -> dict[str, float]:
        return {"bilirubin_x_uln_above": self.bili_x, "ast_alt_x_uln_above": self.trans_x}

    @property
    def only_unknown(self) -> bool:
        """No transaminase is high, but one is not resulted: the hold cannot be excluded."""
        return bool(self.unknown) and not self.high_transaminases


def _read_liver(policy: Policy, labs: dict[str, list[LabResult]], limits: Limits) -> _Liver:
    bili_x = float(policy("ino_hold_bilirubin_x_uln_above"))
    trans_x = float(policy("ino_hold_transaminase_x_uln_above"))
    panel = limits.catalogue.panel_tests(LFT)
    latest = {test: r for test in panel if (r := latest_result(labs, test)) is not None}
    uln = {test: limit for test, r in latest.items() if (limit := limits.uln(r)) is not None}
    bili, bili_uln = latest.get(BILIRUBIN), uln.get(BILIRUBIN)
    high_bili = (
        bili is not None and bili_uln is not None and above(bili.value, bili_x, bili_uln.value)
    )
    transaminases = limits.catalogue.panel_tests(TRANSAMINASES)
    high_trans = [
        latest[t]
        for t in transaminases
        if t in uln and above(latest[t].value, trans_x, uln[t].value)
    ]
    unknown = [t for t in transaminases if t not in latest]
    return _Liver(bili_x, trans_x, latest, uln, bili if high_bili else None, high_trans, unknown)


def _hold_alert(
    facts: CaseFacts, definition: Definition, liver: _Liver, bili: LabResult, limits: Limits
) -> Alert:
    """The critical alert: hold the dose concerned, naming every result that holds it."""
    bili_uln, uln = liver.uln[BILIRUBIN], liver.uln
    bili_x, trans_x = liver.bili_x, liver.trans_x
    triggering = [bili, *liver.high_transaminases]
    parts = [
        f"total bilirubin {fmt(bili.value)} {bili.unit} > {bili_x:g} x ULN "
        f"({uln_text(bili_uln, bili.unit)})"
    ]
    parts += [
        f"{limits.label(r.test)} {fmt(r.value)} {r.unit} > {trans_x:g} x ULN "
        f"({uln_text(uln[r.test], r.unit)})"
        for r in liver.high_transaminases
    ]
    missing = (
        f"; {' and '.join(limits.label(t) for t in liver.unknown)} not resulted, so the hold "
        "cannot be excluded until they are"
        if liver.only_unknown
        else ""
    )
    dose, dose_inputs = inotuzumab_dose_concerned(facts, definition, bili)
    return make_alert(
        "inotuzumab_liver_hold",
        Severity.CRITICAL,
        ("INO-05", "MON-05"),
        f"Hold {dose}, clinician decides: "
        + " and ".join(parts)
        + missing
        + ". INO-05/MON-05, local-policy rule (label): interrupt inotuzumab when total "
        f"bilirubin > {bili_x:g} x ULN and AST/ALT > {trans_x:g} x ULN, until bilirubin "
        f"<= {bili_x:g} x ULN and AST/ALT <= {trans_x:g} x ULN; stop if it does not "
        "recover or VOD occurs. Does not apply as such with Gilbert syndrome or "
        "hemolysis: the clinician judges.",
        {
            "results": [lab_inputs(r, uln=uln.get(r.test)) for r in triggering],
            **liver.thresholds,
            **({"not_resulted": liver.unknown} if liver.only_unknown else {}),
            "dose": dose_inputs,
        },
        latest_time(triggering),
    )


def _elevated_alert(liver: _Liver, elevated: list[LabResult], limits: Limits) -> Alert:
    """The warning: liver tests above the ULN, short of a hold."""
    uln = liver.uln
    return make_alert(
        "lft_elevated_on_inotuzumab",
        Severity.WARNING,
        ("INO-05", "MON-05"),
        "Liver tests above the upper limit of normal on inotuzumab ("
        + "; ".join(
            f"{limits.label(r.test)} {fmt(r.value)} {r.unit} ({uln_text(uln[r.test], r.unit)})"
            for r in elevated
        )
        + "): may need interruption, dose reduction or discontinuation; clinician "
        "reviews before the next dose.",
        {"results": [lab_inputs(r, uln=uln[r.test]) for r in elevated], **liver.thresholds},
        latest_time(elevated),
    )


def _cytoreduction(facts: CaseFacts, policy: Policy) -> list[Alert]:
    """INO-02: circulating blasts above the local threshold before the first dose."""
    course = facts.treatment
    blasts = facts.disease.peripheral_blasts_per_ul
    if course is None or course.cycle != 1 or facts.as_of > course.cycle_start or blasts is None:
        return []
    limit = float(policy("ino_cytoreduce_peripheral_blasts_above"))
    if not blasts > limit:
        return []
    return [
        make_alert(
            "inotuzumab_cytoreduction_before_first_dose",
            Severity.WARNING,
            ("INO-02",),
            f"Circulating blasts {blasts:g}/microL (> {limit:g}, local default) before the "
            "first inotuzumab dose: cytoreduce (hydroxyurea, steroids and/or vincristine) to "
            f"<= {limit:g}/microL first; clinician decides.",
            {
                "peripheral_blasts_per_ul": blasts,
                "threshold_above": limit,
                "first_dose_date": course.cycle_start.isoformat(),
            },
        )
    ]


def _sos_bilirubin(
    facts: CaseFacts, labs: dict[str, list[LabResult]], limits: Limits
) -> list[Alert]:
    """MON-07 (rising bilirubin, an SOS/VOD sign) and INO-11 (bilirubin >= ULN before HCT)."""
    alerts: list[Alert] = []
    results = labs.get(BILIRUBIN) or []
    if len(results) >= 2 and results[-1].value > results[-2].value:
        previous, latest = results[-2], results[-1]
        alerts.append(
            make_alert(
                "sos_sign_rising_bilirubin",
                Severity.WARNING,
                ("MON-07", "INO-11"),
                f"Rising total bilirubin after inotuzumab ({previous.value:g} -> "
                f"{latest.value:g} {latest.unit}): a possible sign of hepatic SOS/VOD; "
                "clinician and transplant team review the same day.",
                {"results": [lab_inputs(previous), lab_inputs(latest)]},
                latest.at,
            )
        )
    latest_bili = results[-1] if results else None
    uln = None if latest_bili is None else limits.uln(latest_bili)
    if (
        latest_bili is not None
        and uln is not None
        and latest_bili.value >= uln.value
        and facts.fitness.hct_eligible in (HctEligible.YES, HctEligible.PENDING)
    ):
        alerts.append(
            make_alert(
                "sos_risk_bilirubin_before_hct",
                Severity.INFO,
                ("INO-11", "AMB-19"),
                f"Total bilirubin {fmt(latest_bili.value)} {latest_bili.unit} is at or above "
                f"the ULN ({uln_text(uln, latest_bili.unit)}) in a possible HCT candidate "
                "exposed to inotuzumab: a listed SOS/VOD risk factor; share with the "
                "transplant team.",
                {
                    "results": [lab_inputs(latest_bili, uln=uln)],
                    "hct_eligible": facts.fitness.hct_eligible,
                },
                latest_bili.at,
            )
        )
    return alerts
