"""Response classification: DEF-15 steps A-D, a suggestion a clinician signs.

The category is only ever suggested (``requires_signature`` is always True,
RESP-04): no phase changes and no dose (e.g. INO-09) follows from it until a
clinician signs. Partial response (DEF-09, AMB-06) is never computed.

Criteria are tri-state: a criterion that cannot be judged from the recorded
facts is unknown, never read as met. Source thresholds (DEF-03..08) are
constants here; the local-policy ones (CRH_RULE, the MRD threshold, the
choice of reference value) are read from the policy.

Choices made where RULES.md leaves room (also in the report):

- Circulating blasts after remission (AMB-02) gives ``indeterminate`` with the
  label ``relapse_suspected``: the vocabulary has no such category and AMB-02
  forbids an automatic state change.
- When ``in_remission_before`` is not recorded, it is taken from a signed
  CR/CRh/CRi or a confirmed post-remission phase; if still unknown and a
  finding would be a relapse had the patient been in remission, the category
  is ``indeterminate`` (never a silent "not in remission").
- RESP-06 makes CRh and CRi provisional too: they rest on the same CR
  criterion (b) (no CNS involvement, no testicular mass).
- DEF-02 (``primary_refractory_2_rounds``) is labelled when two or more
  induction rounds were given without reaching the remission core, even when
  ``end_of_induction`` is not set; DEF-06 (``refractory_to_current_induction``)
  when the end of induction is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pathways.decisions import ResponseSuggestion
from pathways.facts import CaseFacts, ResponseAssessment
from pathways.policy import Policy
from pathways.vocab import REMISSION_CATEGORIES, CnsStatus, Goal, Phase, ResponseCategory

# [SRC] DEF-03 (c): marrow blasts < 5 percent; DEF-07: relapse > 5 percent.
MARROW_BLAST_PCT_LIMIT = Decimal(5)
# [SRC] DEF-03 (d): ANC >= 1000/microL and platelets >= 100,000/microL.
CR_ANC = 1000.0
CR_PLATELETS = 100000.0
# [SRC] DEF-04: ANC >= 500/microL and/or platelets >= 50,000/microL.
CRH_ANC = 500.0
CRH_PLATELETS = 50000.0
# [SRC] DEF-08: a rise of >= 25 percent (relative, DEF-15 note) is progression.
PD_RELATIVE_RISE = Decimal("0.25")

IN_REMISSION_PHASES = frozenset(
    {Phase.POST_REMISSION_HCT, Phase.POST_REMISSION_NON_HCT, Phase.SURVEILLANCE}
)
LABEL_PRIMARY_REFRACTORY = "primary_refractory_2_rounds"
LABEL_REFRACTORY_CURRENT = "refractory_to_current_induction"
LABEL_RELAPSE_SUSPECTED = "relapse_suspected"
LABEL_PROVISIONAL = "provisional"


@dataclass
class _Reasons:
    texts: list[str] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)

    def add(self, text: str, *rule_ids: str) -> None:
        self.texts.append(text)
        for rule_id in rule_ids:
            if rule_id not in self.rule_ids:
                self.rule_ids.append(rule_id)


def classify_response(facts: CaseFacts, policy: Policy) -> ResponseSuggestion | None:
    """Suggest a response category for ``facts.response_assessment`` (None when there is none)."""
    ra = facts.response_assessment
    if ra is None:
        return None
    why = _Reasons()
    if facts.goal is Goal.SYMPTOM_RELIEF:
        why.add(
            "goal of therapy is symptom relief: blood counts guide care and no marrow "
            "examination is needed",
            "RESP-02",
            "RESP-01",
        )
    pb = _circulating_blasts(ra)
    emd = _extramedullary(ra)
    core = _remission_core(ra, pb, emd, why)
    prior = _prior_remission(facts, ra, why)

    labels: list[str] = []
    category = _step_b(ra, pb, emd, prior, why, labels)
    if category is None and core is True:
        category = _step_c(facts, ra, policy, why)
    elif category is None:
        category = _step_d(ra, pb, emd, core, policy, why, labels)

    provisional = False
    if category in REMISSION_CATEGORIES:
        provisional = _provisional(facts, ra, why)
        if provisional:
            labels.append(LABEL_PROVISIONAL)
    _mrd(ra, policy, why)
    why.add("suggested category only: a clinician confirms and signs it", "DEF-15", "RESP-04")
    return ResponseSuggestion(
        category=category,
        reasons=tuple(why.texts),
        rule_ids=tuple(why.rule_ids),
        requires_signature=True,
        labels=tuple(labels),
        provisional=provisional,
    )


# --------------------------------------------------------------------------- inputs


def _circulating_blasts(ra: ResponseAssessment) -> bool | None:
    # A blood count above zero is circulating blasts whatever the flag says, so it
    # is never a CR (DEF-03 a); the doors refuse the pair as a contradiction.
    if ra.peripheral_blasts_per_ul is not None and ra.peripheral_blasts_per_ul > 0:
        return True
    if ra.circulating_blasts is not None:
        return ra.circulating_blasts
    if ra.peripheral_blasts_per_ul is not None:
        return False
    return None


def _extramedullary(ra: ResponseAssessment) -> frozenset[str] | None:
    """Active extramedullary sites; None when EMD was not assessed."""
    if ra.extramedullary_sites:
        return ra.extramedullary_sites
    if ra.extramedullary_disease is False:
        return frozenset()
    if ra.extramedullary_disease is True:
        return frozenset({"unspecified"})
    return None


def _dec(value: float) -> Decimal:
    # Through str so that 12.4 is exactly 12.4: boundaries (5 percent, +25 percent)
    # must not flip on binary rounding.
    return Decimal(str(value))


def _remission_core(
    ra: ResponseAssessment, pb: bool | None, emd: frozenset[str] | None, why: _Reasons
) -> bool | None:
    """STEP A: CR criteria (a)-(c) of DEF-03, tri-state."""
    failed: list[str] = []
    unknown: list[str] = []
    if pb is True:
        failed.append("circulating lymphoblasts present")
    elif pb is None:
        unknown.append("circulating blasts")
    if emd:
        failed.append("extramedullary disease present (" + ", ".join(sorted(emd)) + ")")
    elif emd is None:
        unknown.append("extramedullary status")
    if ra.marrow_blast_pct is None:
        unknown.append("marrow blast percentage")
    elif _dec(ra.marrow_blast_pct) >= MARROW_BLAST_PCT_LIMIT:
        failed.append(f"marrow blasts {ra.marrow_blast_pct:g} percent (not < 5)")
    if ra.trilineage_hematopoiesis is None:
        unknown.append("trilineage hematopoiesis")
    elif ra.trilineage_hematopoiesis is False:
        failed.append("no trilineage hematopoiesis")
    if failed:
        why.add("remission criteria (a)-(c) not met: " + "; ".join(failed), "DEF-03", "DEF-15")
        return False
    if unknown:
        why.add(
            "remission criteria (a)-(c) cannot be judged: not recorded: " + ", ".join(unknown),
            "DEF-03",
            "DEF-15",
        )
        return None
    why.add(
        f"remission criteria (a)-(c) met: no circulating blasts, no extramedullary disease, "
        f"trilineage hematopoiesis, marrow blasts {ra.marrow_blast_pct:g} percent (< 5)",
        "DEF-03",
        "DEF-15",
    )
    return True


def _prior_remission(facts: CaseFacts, ra: ResponseAssessment, why: _Reasons) -> bool | None:
    if ra.in_remission_before is not None:
        return ra.in_remission_before
    signed = facts.signed_response
    if signed is not None and signed.category in (
        ResponseCategory.CR,
        ResponseCategory.CRH,
        ResponseCategory.CRI,
    ):
        why.add(f"in remission before: signed {signed.category.value} on {signed.signed_on}")
        return True
    if facts.phase in IN_REMISSION_PHASES:
        why.add(f"in remission before: phase {facts.phase.value if facts.phase else ''}")
        return True
    return None


# --------------------------------------------------------------------------- steps B-D


def _step_b(
    ra: ResponseAssessment,
    pb: bool | None,
    emd: frozenset[str] | None,
    prior: bool | None,
    why: _Reasons,
    labels: list[str],
) -> ResponseCategory | None:
    """STEP B (DEF-07, DEF-01, AMB-02): the relapse check for a patient in remission before."""
    bm = None if ra.marrow_blast_pct is None else _dec(ra.marrow_blast_pct)
    findings: list[str] = []
    if bm is not None and bm > MARROW_BLAST_PCT_LIMIT:
        findings.append(f"marrow blasts {ra.marrow_blast_pct:g} percent (> 5)")
    if emd:
        findings.append("extramedullary disease (" + ", ".join(sorted(emd)) + ")")
    suspected = pb is True
    exactly_five = bm is not None and bm == MARROW_BLAST_PCT_LIMIT
    if prior is None:
        if findings or suspected or exactly_five:
            found = findings + (["circulating blasts"] if suspected else [])
            if exactly_five:
                found.append("marrow blasts exactly 5 percent")
            why.add(
                "whether the patient was in remission before is not recorded; if so, "
                + "; ".join(found)
                + " would mean relapse: record it, clinician decides",
                "DEF-07",
                "AMB-02",
            )
            return ResponseCategory.INDETERMINATE
        return None
    if prior is False:
        return None
    if findings:
        why.add("relapse after remission: " + "; ".join(findings), "DEF-07", "DEF-01", "DEF-15")
        return ResponseCategory.RELAPSE
    if suspected:
        labels.append(LABEL_RELAPSE_SUSPECTED)
        why.add(
            "circulating blasts after remission: relapse suspected, no threshold in the source; "
            "clinician review, no automatic state change",
            "AMB-02",
            "DEF-01",
            "DEF-15",
        )
        return ResponseCategory.INDETERMINATE
    if exactly_five:
        why.add(
            "marrow blasts exactly 5 percent after remission: neither < 5 (CR) nor > 5 (relapse); "
            "clinician review",
            "AMB-02",
            "DEF-15",
        )
        return ResponseCategory.INDETERMINATE
    return None


def _step_c(
    facts: CaseFacts, ra: ResponseAssessment, policy: Policy, why: _Reasons
) -> ResponseCategory:
    """STEP C (DEF-03..05, AMB-03): depth of remission from ANC and platelets."""
    anc, plt = ra.anc_per_ul, ra.platelets_per_ul
    if anc is None or plt is None:
        missing = [n for n, v in (("ANC", anc), ("platelets", plt)) if v is None]
        why.add(
            "remission core met but " + " and ".join(missing) + " not recorded: CR, CRh or CRi "
            "cannot be told apart",
            "DEF-03",
            "DEF-04",
            "DEF-05",
        )
        return ResponseCategory.INDETERMINATE
    counts = f"ANC {anc:g}/microL, platelets {plt:g}/microL"
    if anc >= CR_ANC and plt >= CR_PLATELETS:
        why.add(f"{counts}: ANC >= 1000 and platelets >= 100,000 (CR)", "DEF-03", "DEF-15")
        return ResponseCategory.CR
    rule = str(policy("crh_rule"))
    anc_ok, plt_ok = anc >= CRH_ANC, plt >= CRH_PLATELETS
    partial = (anc_ok and plt_ok) if rule == "AND" else (anc_ok or plt_ok)
    joined = "and" if rule == "AND" else "or"
    if partial:
        why.add(
            f"{counts}: ANC >= 500 {joined} platelets >= 50,000 (CRh; CRH_RULE = {rule}, "
            "local policy)",
            "DEF-04",
            "DEF-15",
            "AMB-03",
        )
        return ResponseCategory.CRH
    why.add(
        f"{counts}: counts not recovered and not ANC >= 500 {joined} platelets >= 50,000 "
        f"(CRi; CRH_RULE = {rule}, local policy)",
        "DEF-05",
        "DEF-15",
        "AMB-03",
    )
    return ResponseCategory.CRI


def _step_d(
    ra: ResponseAssessment,
    pb: bool | None,
    emd: frozenset[str] | None,
    core: bool | None,
    policy: Policy,
    why: _Reasons,
    labels: list[str],
) -> ResponseCategory:
    """STEP D (DEF-06, DEF-08, DEF-02, AMB-01, AMB-04): active disease."""
    progression = _progression(ra, pb, emd, policy, why)
    if progression:
        why.add(
            "progressive disease: " + "; ".join(progression) + " (clinician confirms every PD)",
            "DEF-08",
            "DEF-15",
            "AMB-04",
        )
        return ResponseCategory.PROGRESSIVE_DISEASE
    if core is None:
        why.add("not enough findings to classify; clinician review", "DEF-15")
        return ResponseCategory.INDETERMINATE
    rounds = ra.induction_rounds
    if ra.end_of_induction:
        labels.append(LABEL_REFRACTORY_CURRENT)
        why.add(
            "no CR at the end of induction: refractory to the current induction",
            "DEF-06",
            "DEF-15",
            "AMB-01",
        )
    if rounds is not None and rounds >= 2:
        labels.append(LABEL_PRIMARY_REFRACTORY)
        why.add(
            f"no CR after {rounds} rounds of induction (two rounds define refractory in the "
            "diagnostic sense)",
            "DEF-02",
            "AMB-01",
        )
    if labels:
        why.add("both refractory definitions are kept; a clinician confirms the label", "AMB-01")
        return ResponseCategory.REFRACTORY
    why.add(
        "not in remission and not at the end of induction: assess further; a clinician may "
        "enter a partial response (never computed)",
        "DEF-15",
        "DEF-09",
        "AMB-06",
    )
    return ResponseCategory.NOT_IN_REMISSION


def _relative_rise(new: float, reference: float) -> Decimal:
    return (_dec(new) - _dec(reference)) / _dec(reference)


def _progression(
    ra: ResponseAssessment,
    pb: bool | None,
    emd: frozenset[str] | None,
    policy: Policy,
    why: _Reasons,
) -> list[str]:
    """DEF-08 with the reference values of AMB-04 (the caller supplies them)."""
    found: list[str] = []
    basis = str(policy("pd_reference_value")).replace("_", " ")
    ref_pb = ra.ref_peripheral_blasts_per_ul
    if pb is True:
        if ref_pb == 0:
            found.append("circulating blasts detected where the reference showed none")
        elif ref_pb is None:
            why.add(
                "circulating blasts present; no reference value to tell whether they are new",
                "AMB-04",
            )
    if ref_pb is not None and ref_pb > 0 and ra.peripheral_blasts_per_ul is not None:
        rise = _relative_rise(ra.peripheral_blasts_per_ul, ref_pb)
        if rise >= PD_RELATIVE_RISE:
            found.append(
                f"circulating blasts {ra.peripheral_blasts_per_ul:g}/microL vs reference "
                f"{ref_pb:g} ({basis}): +{rise * 100:.1f} percent (>= 25)"
            )
    ref_bm = ra.ref_marrow_blast_pct
    if ref_bm is not None and ref_bm > 0 and ra.marrow_blast_pct is not None:
        rise = _relative_rise(ra.marrow_blast_pct, ref_bm)
        if rise >= PD_RELATIVE_RISE:
            found.append(
                f"marrow blasts {ra.marrow_blast_pct:g} percent vs reference {ref_bm:g} "
                f"({basis}): +{rise * 100:.1f} percent relative (>= 25)"
            )
    if emd:
        ref_sites = ra.ref_extramedullary_sites
        if ref_sites is None:
            why.add(
                "extramedullary disease present; no reference sites to tell whether it is new",
                "AMB-04",
            )
        else:
            new_sites = sorted(emd - ref_sites)
            if new_sites:
                found.append("new extramedullary disease: " + ", ".join(new_sites))
    return found


# --------------------------------------------------------------------------- RESP-06 and MRD


def _provisional(facts: CaseFacts, ra: ResponseAssessment, why: _Reasons) -> bool:
    """RESP-06: criterion (b) needs current CNS and testicular findings."""
    gaps: list[str] = []
    cns = facts.disease.cns_status
    if ra.csf_clear_since_last_positive is not True and cns is not CnsStatus.NEGATIVE:
        gaps.append(
            "no clear CSF result since the last positive"
            if cns is CnsStatus.INVOLVED
            else "CNS status not known"
        )
    testes = facts.disease.testicular_involvement
    if ra.testicular_exam_documented is not True:
        if testes is True:
            gaps.append("no testicular exam documented for testicular disease at diagnosis")
        elif testes is None and facts.patient.has_testes is not False:
            gaps.append("testicular status at diagnosis not recorded")
    if not gaps:
        return False
    why.add(
        "provisional until CNS and testicular findings are current: " + "; ".join(gaps),
        "RESP-06",
        "DEF-03",
    )
    return True


def _mrd(ra: ResponseAssessment, policy: Policy, why: _Reasons) -> None:
    """DEF-10 / RESP-05: report MRD against the local threshold; never a category by itself."""
    if ra.mrd is None or ra.mrd.value is None:
        why.add("MRD not recorded (required on the response marrow)", "DEF-10", "RESP-03")
        return
    threshold = float(policy("mrd_negative_below"))
    method = ra.mrd.method or "method not recorded"
    sensitivity = ra.mrd.sensitivity
    detail = f"MRD {ra.mrd.value:g} by {method}"
    if sensitivity is not None:
        detail += f" (assay sensitivity {sensitivity:g})"
    if ra.mrd.value >= threshold:
        why.add(f"{detail}: MRD positive (>= {threshold:g}, local default)", "DEF-10", "RESP-05")
    elif sensitivity is not None and sensitivity > threshold:
        why.add(
            f"{detail}: below {threshold:g} but the assay cannot detect that level; "
            "MRD negativity not established",
            "DEF-10",
            "RESP-05",
        )
    else:
        why.add(f"{detail}: MRD negative (< {threshold:g}, local default)", "DEF-10", "RESP-05")
