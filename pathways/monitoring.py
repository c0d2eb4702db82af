"""Monitoring evaluation: lab results and current facts against the watch rules of §7.

Alerts only suggest: a lab value never changes a phase and never blocks or
releases a dose by itself (RULES.md §10 rules 2-3). Each alert names its rule
ids, the inputs that triggered it (test, value, unit, limits, thresholds,
timestamps) and the time of the triggering result.

Reading results: results stamped after ``facts.as_of`` (in the clinic's zone)
are ignored. A "current" check uses the most recent result of each test, so an
older abnormal result is superseded only by a later result *of the same test*;
a normal result of one test never hides an abnormal result of another, and a
check is never skipped because an earlier result was normal. Values arrive in
the canonical units of the lab catalogue (``definition.labs``).

Limits of normal: a rule compares a result against the laboratory's own ULN
(or LLN) when the result came with one, else against the local reference range
of the catalogue (defaults ``lab_reference_uln`` / ``lab_reference_lln``); the
alert's inputs say which (``uln_source``), so a ULN is never silently missing.

Thresholds the source does not give are defaults (``defaults-decisions.yaml``),
read through the policy so the output can list them as local policy.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pathways.clock import local_date
from pathways.core.labs import fmt
from pathways.course_watch import course_alerts
from pathways.decisions import Alert
from pathways.facts import CaseFacts, LabResult
from pathways.inotuzumab_watch import inotuzumab_alerts
from pathways.model import Definition
from pathways.monitoring_labs import Limits, lab_inputs
from pathways.monitoring_read import (
    ANC,
    MAGNESIUM,
    PLATELETS,
    POTASSIUM,
    QTCF,
    course_active,
    course_inputs,
    exact,
    latest_result,
    latest_time,
    make_alert,
    results_by_test,
)
from pathways.policy import Policy
from pathways.revumenib_watch import revumenib_medication_alerts
from pathways.schedules.context import first_treatment_day
from pathways.vocab import (
    CnsStatus,
    CoursePhase,
    Lineage,
    OptionId,
    Severity,
)

# [SRC] NEL-01/NEL-02: a nelarabine dose is given only for patients >= 16 years.
NELARABINE_MIN_AGE_YEARS = 16
SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


def evaluate_monitoring(facts: CaseFacts, definition: Definition, policy: Policy) -> list[Alert]:
    """Every monitoring alert the facts support as of ``facts.as_of``, most severe first.

    ``definition`` is the pinned pathway version the thresholds belong to; the
    thresholds themselves are read through ``policy`` (recorded as used).
    """
    labs = results_by_test(facts)
    limits = Limits(definition.labs, policy)
    alerts: list[Alert] = []
    alerts += inotuzumab_alerts(facts, policy, labs, limits, definition)
    alerts += _revumenib(facts, policy, labs, limits)
    alerts += _nelarabine(facts, policy, labs)
    alerts += _lumbar_puncture(facts, policy, labs)
    alerts += _tumour_lysis(facts, policy, labs, limits)
    alerts += _testicular_risk(facts)
    alerts += course_alerts(facts)
    return sorted(alerts, key=lambda a: (SEVERITY_ORDER[a.severity], a.id))


# --------------------------------------------------------------------------- revumenib


def _revumenib(
    facts: CaseFacts, policy: Policy, labs: dict[str, list[LabResult]], limits: Limits
) -> list[Alert]:
    if not course_active(facts, OptionId.REVUMENIB):
        return []
    alerts = _qtcf(facts, policy, labs)
    alerts += _electrolytes(labs, limits)
    alerts += revumenib_medication_alerts(facts, policy)
    return alerts


def _qtcf(facts: CaseFacts, policy: Policy, labs: dict[str, list[LabResult]]) -> list[Alert]:
    """MON-13 / REV-06: QTcF above the local limit, or a rise above the local limit from baseline."""
    results = labs.get(QTCF) or []
    if not results:
        return []
    limit = float(policy("revumenib_qtcf_above_ms"))
    rise_limit = float(policy("revumenib_qtcf_rise_above_ms"))
    latest = latest_result(labs, QTCF) or results[-1]
    baseline, basis = _qtcf_baseline(facts, results)
    found: list[str] = []
    if latest.value > limit:
        found.append(f"QTcF {latest.value:g} ms (> {limit:g})")
    rise = None
    if baseline is not None and baseline is not latest:
        rise = latest.value - baseline.value
        if exact(latest.value) - exact(baseline.value) > exact(rise_limit):
            found.append(
                f"rise of {rise:g} ms from baseline {baseline.value:g} ms (> {rise_limit:g})"
            )
    if not found:
        return []
    inputs: dict[str, Any] = {
        "latest": lab_inputs(latest),
        "qtcf_above_ms": limit,
        "rise_above_ms": rise_limit,
        "baseline_basis": basis,
    }
    if baseline is not None:
        inputs["baseline"] = lab_inputs(baseline)
    return [
        make_alert(
            "revumenib_qtcf_prolonged",
            Severity.CRITICAL,
            ("MON-13", "REV-06"),
            "QTc prolonged on revumenib: "
            + "; ".join(found)
            + " (local-policy thresholds). Clinician review the same day; check potassium "
            "and magnesium.",
            inputs,
            latest.at,
        )
    ]


def _qtcf_baseline(facts: CaseFacts, results: list[LabResult]) -> tuple[LabResult | None, str]:
    course = facts.treatment
    if course is not None and course.cycle == 1:
        before = [r for r in results if local_date(r.at, facts.timezone) <= course.cycle_start]
        if before:
            return before[-1], "latest QTcF on or before day 1 of revumenib"
    return results[0], "earliest QTcF on record (no pre-treatment result identified)"


def _electrolytes(labs: dict[str, list[LabResult]], limits: Limits) -> list[Alert]:
    """REV-06: correct low potassium/magnesium before and while on revumenib (QTc risk)."""
    alerts: list[Alert] = []
    for test, name in ((POTASSIUM, "hypokalemia"), (MAGNESIUM, "hypomagnesemia")):
        latest = latest_result(labs, test, low_is_bad=True)
        lln = None if latest is None else limits.lln(latest)
        if latest is None or lln is None or not latest.value < lln.value:
            continue
        alerts.append(
            make_alert(
                f"revumenib_{test}_low",
                Severity.WARNING,
                ("REV-06", "MON-13"),
                f"{test.capitalize()} {fmt(latest.value)} {latest.unit} below the lower limit "
                f"(LLN {fmt(lln.value)} {latest.unit}: {lln.description}) on revumenib: correct "
                f"{name} (QTc risk); clinician decides.",
                {"results": [lab_inputs(latest, lln=lln)]},
                latest.at,
            )
        )
    return alerts


# --------------------------------------------------------------------------- nelarabine


def _nelarabine(facts: CaseFacts, policy: Policy, labs: dict[str, list[LabResult]]) -> list[Alert]:
    if not course_active(facts, OptionId.NELARABINE):
        return []
    alerts: list[Alert] = []
    if facts.age < NELARABINE_MIN_AGE_YEARS:
        alerts.append(
            make_alert(
                "nelarabine_under_16",
                Severity.CRITICAL,
                ("NEL-02", "AMB-15"),
                f"Nelarabine course recorded for a patient aged {facts.age}: the source gives no "
                "dose under 16 years. Stop and ask a clinician before any dose.",
                {"age": facts.age, "minimum_age_years": NELARABINE_MIN_AGE_YEARS},
            )
        )
    cns_active = facts.disease.cns_status is CnsStatus.INVOLVED
    alerts.append(
        make_alert(
            "nelarabine_neurotoxicity_interaction",
            Severity.WARNING,
            ("NEL-04", "CNS-07", "AMB-15"),
            "Nelarabine neurotoxicity worsens with intrathecal therapy, radiation, active CNS "
            "disease or a history of neuropathy"
            + (" (active CNS disease is recorded)" if cns_active else "")
            + ": the clinician resolves any overlap with the CNS prophylaxis or RT schedule.",
            # The cycle is an input: NEL-04 asks at each IT/RT booking, one IT per cycle.
            {"cns_status": facts.disease.cns_status, **course_inputs(facts)},
        )
    )
    anc_limit = float(policy("nelarabine_grade3_anc_below"))
    plt_limit = float(policy("nelarabine_grade3_platelets_below"))
    low = [
        (r, limit)
        for r, limit in (
            (latest_result(labs, ANC, low_is_bad=True), anc_limit),
            (latest_result(labs, PLATELETS, low_is_bad=True), plt_limit),
        )
        if r is not None and r.value < limit
    ]
    if low:
        alerts.append(
            make_alert(
                "nelarabine_grade3_cytopenia",
                Severity.WARNING,
                ("MON-18", "NEL-05"),
                "Grade >= 3 cytopenia on nelarabine (local thresholds): "
                + "; ".join(f"{r.test} {r.value:g} {r.unit} (< {limit:g})" for r, limit in low)
                + "; clinician reviews.",
                {
                    "results": [lab_inputs(r) for r, _ in low],
                    "anc_below": anc_limit,
                    "platelets_below": plt_limit,
                },
                latest_time(r for r, _ in low),
            )
        )
    return alerts


# --------------------------------------------------------------------------- LP and TLS


def _lumbar_puncture(
    facts: CaseFacts, policy: Policy, labs: dict[str, list[LabResult]]
) -> list[Alert]:
    """WU-23b/MON-21 and WU-23c/MON-22: before any LP (every patient has one, WU-23/CNS-01)."""
    alerts: list[Alert] = []
    sources: dict[str, Any] = {}
    blasts = facts.disease.peripheral_blasts_per_ul
    if blasts is not None and blasts > 0:
        sources["disease.peripheral_blasts_per_ul"] = blasts
    ra = facts.response_assessment
    if ra is not None and (
        ra.circulating_blasts is True
        or (ra.peripheral_blasts_per_ul is not None and ra.peripheral_blasts_per_ul > 0)
    ):
        sources["response_assessment"] = {
            "date": ra.date.isoformat(),
            "circulating_blasts": ra.circulating_blasts,
            "peripheral_blasts_per_ul": ra.peripheral_blasts_per_ul,
        }
    if sources:
        # MON-21 asks before each LP: the cycle (one IT/LP per cycle) is an input.
        sources.update(course_inputs(facts))
        alerts.append(
            make_alert(
                "circulating_blasts_before_lp",
                Severity.WARNING,
                ("WU-23b", "MON-21"),
                "Circulating blasts: at the next lumbar puncture take care not to contaminate "
                "the CSF sample with peripheral blood.",
                sources,
            )
        )
    platelets = latest_result(labs, PLATELETS, low_is_bad=True)
    limit = float(policy("pre_lp_platelets_below"))
    if platelets is not None and platelets.value < limit:
        alerts.append(
            make_alert(
                "low_platelets_before_lp",
                Severity.WARNING,
                ("WU-23c", "MON-22"),
                f"Platelets {platelets.value:g}/microL (< {limit:g}, local default) before a "
                "lumbar puncture: clinician decides on platelets and/or cryoprecipitate to "
                "secure hemostasis.",
                {"results": [lab_inputs(platelets)], "platelets_below": limit},
                platelets.at,
            )
        )
    return alerts


def _tumour_lysis(
    facts: CaseFacts, policy: Policy, labs: dict[str, list[LabResult]], limits: Limits
) -> list[Alert]:
    """MON-26 / DEF-14: high burden at the start of induction -> tumour-lysis labs."""
    d = facts.disease
    marrow_above = float(policy("prephase_marrow_blast_pct_above"))
    blood_above = float(policy("prephase_peripheral_blasts_per_ul_above"))
    burden: dict[str, Any] = {}
    if d.marrow_blast_pct is not None and d.marrow_blast_pct > marrow_above:
        burden["marrow_blast_pct"] = d.marrow_blast_pct
    if d.peripheral_blasts_per_ul is not None and d.peripheral_blasts_per_ul > blood_above:
        burden["peripheral_blasts_per_ul"] = d.peripheral_blasts_per_ul
    if not burden:
        return []
    days = int(policy("tls_watch_days"))
    course = facts.treatment
    ind_d1 = None
    if course is not None:
        starting = course.cycle == 1 and course.phase in (
            CoursePhase.PREPHASE,
            CoursePhase.INDUCTION,
        )
        # IND_D1 is P1 when a pre-phase precedes the course (the day the planned
        # tumour-lysis labs start counting, followup.yaml tls_labs), else C1_D1.
        ind_d1 = first_treatment_day(course)
        if not starting or facts.as_of > ind_d1 + timedelta(days=days - 1):
            return []
    window = (
        f"day 1 to day {days} of induction"
        if ind_d1 is None
        else f"{ind_d1} to {ind_d1 + timedelta(days=days - 1)}"
    )
    inputs: dict[str, Any] = {
        **burden,
        "marrow_blast_pct_above": marrow_above,
        "peripheral_blasts_per_ul_above": blood_above,
        "watch_days": days,
    }
    alerts = [
        make_alert(
            "tumour_lysis_watch",
            Severity.INFO,
            ("MON-26", "DEF-14"),
            "High leukemic burden: tumour-lysis labs (uric acid, phosphorus, calcium, potassium, "
            f"creatinine, LDH) daily {window} (local default); abnormal -> clinician.",
            inputs,
        )
    ]
    potassium = latest_result(labs, POTASSIUM)
    uln = None if potassium is None else limits.uln(potassium)
    lln = None if potassium is None else limits.lln(potassium)
    if potassium is not None and (
        (uln is not None and potassium.value > uln.value)
        or (lln is not None and potassium.value < lln.value)
    ):
        alerts.append(
            make_alert(
                "tumour_lysis_potassium_abnormal",
                Severity.WARNING,
                ("MON-26", "DEF-14"),
                f"Potassium {fmt(potassium.value)} {potassium.unit} outside its limits of "
                "normal during the tumour-lysis watch: clinician reviews.",
                {"results": [lab_inputs(potassium, uln=uln, lln=lln)], **burden},
                potassium.at,
            )
        )
    return alerts


def _testicular_risk(facts: CaseFacts) -> list[Alert]:
    """TEST-02: testicular involvement is especially common in T-ALL (a flag at DX).

    Shown while the testicular status is not recorded in a T-ALL patient who may
    have testes: the action is the exam every such patient gets (WU-11, TEST-01).
    """
    d, p = facts.disease, facts.patient
    if d.lineage is not Lineage.T or p.has_testes is False or d.testicular_involvement is not None:
        return []
    return [
        make_alert(
            "testicular_involvement_common_in_t_all",
            Severity.INFO,
            ("TEST-02", "WU-11", "TEST-01"),
            "T-cell ALL: testicular involvement is especially common. The testicular exam "
            "(required even if asymptomatic) is not yet documented.",
            {
                "lineage": d.lineage,
                "has_testes": p.has_testes,
                "testicular_involvement": d.testicular_involvement,
            },
        )
    ]
