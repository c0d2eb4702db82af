"""Follow-up and parallel tracks: CNS, testis, Ph+, post-remission, surveillance, fitness, MON-26."""

from __future__ import annotations

from datetime import date

import pytest

from pathways.errors import ContradictoryFacts
from pathways.vocab import Phase, ResponseCategory, Role, TaskKind
from tests.pathways.test_schedule_helpers import make_facts, of_rule, one, plan, plus

C1 = date(2026, 11, 16)
RESP = date(2026, 12, 15)
AFTER_RESP = date(2026, 12, 17)


def course(
    regimen: str = "blinatumomab",
    cycle: int = 1,
    phase: str = "induction",
    as_of: date = C1,
    **kw: object,
) -> list:
    return plan(
        make_facts(regimen=regimen, cycle=cycle, start=C1, phase=phase, as_of=str(as_of), **kw)
    )


def remission(
    category: ResponseCategory = ResponseCategory.CR, as_of: date = AFTER_RESP, **kw: object
) -> list:
    return plan(make_facts(as_of=str(as_of), signed=(category, RESP), **kw))


# -- CNS (§5.8) ---------------------------------------------------------------------


def test_cns_05_documented_involvement_plans_the_rt_and_it_booking_decision() -> None:
    # rule: CNS-05, AMB-18, SM-P1 — 24 Gy in 12 x 2 Gy + >=6 IT; timing by the clinician.
    involved = course(**{"disease.cns_status": "involved"})
    task = one(involved, "CNS-05")
    assert task.kind is TaskKind.CLINICIAN_REVIEW and (task.window_start, task.window_end) == (
        C1,
        plus(C1, 14),
    )
    assert "24 Gy in 12 fractions of 2 Gy" in task.title and "AMB-18" in task.detail["rule_ids"]
    assert not of_rule(course(), "CNS-05")
    unknown = one(course(**{"disease.cns_status": None}), "CNS-05")
    assert unknown.detail["applies_if"] == ("documented CNS involvement",)


def test_mon_19_csf_at_every_later_it_with_cns_involvement() -> None:
    # rule: MON-19, CNS-06 — cycle 1 is covered by the diagnostic LP (CNS-01).
    assert not of_rule(course(cycle=1, **{"disease.cns_status": "involved"}), "MON-19")
    csf = one(course(cycle=2, **{"disease.cns_status": "involved"}), "MON-19")
    assert csf.panel == "csf" and csf.due_date == C1
    assert not of_rule(course(cycle=2), "MON-19")


def test_mon_19_csf_also_with_nelarabine_and_chemotherapy_it() -> None:
    # rule: MON-19, CNS-05 — CSF at every IT LP whatever the regimen schedules IT:
    # nelarabine and chemotherapy carry their IT in their own protocols (CNS-04).
    for regimen in ("nelarabine", "chemotherapy_moderate_intensity"):
        csf = one(course(regimen, cycle=2, **{"disease.cns_status": "involved"}), "MON-19")
        assert csf.panel == "csf" and csf.due_date == C1, regimen
        assert not of_rule(course(regimen, cycle=2), "MON-19")


def test_cns_01_diagnostic_lp_without_an_it_schedule_by_ind_d1_plus_14() -> None:
    # rule: CNS-01, WU-23a, QM-01 — chemotherapy: the protocol schedules IT (CNS-04 review).
    tasks = course("chemotherapy_moderate_intensity")
    lp = one(tasks, "CNS-01")
    assert (lp.window_start, lp.due_date, lp.window_end) == (
        plus(C1, -7),
        plus(C1, 14),
        plus(C1, 14),
    )
    assert {"WU-23", "WU-23a", "WU-23b", "WU-23c", "WU-23d"} <= set(lp.detail["rule_ids"])
    review = one(tasks, "CNS-04")
    assert review.kind is TaskKind.CLINICIAN_REVIEW and "CNS-03" in review.detail["rule_ids"]


# -- testis (§5.9) ------------------------------------------------------------------


def test_test_03_mon_20_testicular_exam_at_the_end_of_induction() -> None:
    # rule: TEST-03, MON-20, RESP-06, SM-P2 — in the response-assessment window.
    tasks = course("inotuzumab_ozogamicin", **{"disease.testicular_involvement": True})
    exam = one(tasks, "TEST-03", "testicular_exam_end_of_induction")
    marrow = one(tasks, "INO-08")
    assert (exam.window_start, exam.window_end) == (marrow.window_start, marrow.window_end)
    assert {"MON-20", "RESP-06"} <= set(exam.detail["rule_ids"])
    assert not of_rule(course("inotuzumab_ozogamicin"), "TEST-03")
    # Testicular involvement without testes is a contradiction, refused at the door.
    with pytest.raises(ContradictoryFacts):
        course(
            "inotuzumab_ozogamicin",
            **{"disease.testicular_involvement": True, "patient.has_testes": False},
        )


EOI = {"date": "2026-12-04", "marrow_blast_pct": 2.0, "end_of_induction": True}


def test_test_03_unresolved_at_the_end_of_induction_prompts_rt_at_the_end_of_induction() -> None:
    # rule: TEST-03, TEST-04, MON-20 — the prompt is in the end-of-induction window.
    testes = {"disease.testicular_involvement": True}
    unresolved = course(
        "inotuzumab_ozogamicin",
        as_of=date(2026, 12, 4),
        response_assessment=EOI
        | {"extramedullary_disease": True, "extramedullary_sites": ["testis"]},
        **testes,
    )
    prompt = one(unresolved, "TEST-03", "testicular_rt_consider")
    marrow = one(unresolved, "INO-08")
    assert (prompt.window_start, prompt.window_end) == (marrow.window_start, marrow.window_end)
    assert prompt.role is Role.CLINICIAN and "applies_if" not in prompt.detail
    assert "consider RT to both testes" in prompt.title and "24 Gy" in prompt.title
    # The exam's own answer counts too; resolved disease prompts nothing.
    said = course(
        "inotuzumab_ozogamicin",
        as_of=date(2026, 12, 4),
        response_assessment=EOI | {"testicular_disease_resolved": False},
        **testes,
    )
    assert "applies_if" not in one(said, "TEST-03", "testicular_rt_consider").detail
    resolved = course(
        "inotuzumab_ozogamicin",
        as_of=date(2026, 12, 4),
        response_assessment=EOI | {"testicular_disease_resolved": True},
        **testes,
    )
    assert not of_rule(resolved, "TEST-03", "testicular_rt_consider")
    # Before the end-of-induction exam: planned, depending on its answer.
    pending = one(course("inotuzumab_ozogamicin", **testes), "TEST-03", "testicular_rt_consider")
    assert pending.detail["applies_if"] == (
        "testicular disease not resolved at the end of induction",
    )


def test_test_04_testicular_rt_concurrent_with_maintenance_cycle_1() -> None:
    # rule: TEST-04, AMB-17 — 24 Gy in 2 Gy fractions; the clinician sets the start date.
    tasks = course(
        "chemotherapy_low_intensity",
        phase="maintenance",
        **{"disease.testicular_involvement": True},
    )
    rt = one(tasks, "TEST-04")
    assert rt.kind is TaskKind.RADIOTHERAPY and (rt.window_start, rt.window_end) == (
        C1,
        plus(C1, 28),
    )
    assert "AMB-17" in rt.detail["rule_ids"]
    # Anchored on the maintenance cycle, the clinician is not asked for another anchor.
    signed = make_facts(
        regimen="chemotherapy_low_intensity",
        start=C1,
        phase="maintenance",
        as_of=str(C1),
        signed=(ResponseCategory.CR, RESP),
        **{"disease.testicular_involvement": True},
    )
    assert [t.kind for t in of_rule(plan(signed), "TEST-04")] == [TaskKind.RADIOTHERAPY]


def test_test_04_amb_17_with_hct_or_no_maintenance_next_the_clinician_is_asked() -> None:
    # rule: TEST-04, AMB-17 — no MAINT_C1_D1 to anchor on: a decision, not nothing.
    testes = {"disease.testicular_involvement": True}
    for phase in (Phase.POST_REMISSION_HCT, Phase.POST_REMISSION_NON_HCT):
        decision = one(remission(confirmed_phase=phase, **testes), "TEST-04")
        assert decision.kind is TaskKind.CLINICIAN_REVIEW and decision.window_end == plus(RESP, 14)
        assert "set its anchor date" in decision.title
    # Blinatumomab maintenance is not maintenance chemotherapy: still asked.
    blin_maintenance = make_facts(
        regimen="blinatumomab",
        start=C1,
        phase="maintenance",
        as_of=str(AFTER_RESP),
        signed=(ResponseCategory.CR, RESP),
        confirmed_phase=Phase.POST_REMISSION_NON_HCT,
        **testes,
    )
    assert [t.kind for t in of_rule(plan(blin_maintenance), "TEST-04")] == [
        TaskKind.CLINICIAN_REVIEW
    ]
    # Resolved at the end of induction: nothing to decide.
    resolved = remission(
        confirmed_phase=Phase.POST_REMISSION_HCT,
        response_assessment=EOI | {"date": "2026-12-01", "testicular_disease_resolved": True},
        **testes,
    )
    assert not of_rule(resolved, "TEST-04")


# -- Ph-positive (§5.6) -------------------------------------------------------------


def test_ph_02_mutation_result_on_file_before_the_tki_order() -> None:
    # rule: PH-02, PH-01, WU-07, AMB-13 — never maps mutations to a TKI.
    check = one(course(**{"disease.ph_positive": True}), "PH-02")
    assert (check.window_start, check.due_date) == (plus(C1, -7), C1)
    assert "AMB-13" in check.detail["rule_ids"]
    assert not of_rule(course(), "PH-02")


def test_ph_07_bcr_abl1_at_response_then_every_3_months_after_remission() -> None:
    # rule: PH-07, POST-12
    at_response = one(course(**{"disease.ph_positive": True}), "PH-07")
    assert at_response.panel == "bcr_abl1" and at_response.window_end == plus(C1, 41)
    later = remission(
        as_of=date(2027, 5, 1),
        confirmed_phase=Phase.POST_REMISSION_NON_HCT,
        **{"disease.ph_positive": True},
    )
    assert [t.due_date for t in of_rule(later, "PH-07")] == [date(2027, 6, 15)]
    assert not of_rule(
        remission(as_of=date(2027, 5, 1), confirmed_phase=Phase.POST_REMISSION_NON_HCT), "PH-07"
    )


# -- post-remission (§6) ------------------------------------------------------------


def test_post_01_transplant_team_review_within_7_days_of_a_signed_remission() -> None:
    # rule: POST-01, POST-02, FIT-06 — only when hct_eligible is yes (FIT-08, clinician-entered)
    # after a signed remission (RESP-04, RESP-07).
    tasks = remission(**{"fitness.hct_eligible": "yes"})
    review = one(tasks, "POST-01")
    assert review.kind is TaskKind.TRANSPLANT_REFERRAL
    assert (review.window_start, review.due_date) == (RESP, plus(RESP, 7))
    assert not of_rule(remission(), "POST-01")  # pending
    assert not of_rule(
        remission(ResponseCategory.REFRACTORY, **{"fitness.hct_eligible": "yes"}), "POST-01"
    )


def test_post_03_escalation_without_an_hct_decision_by_resp_plus_30() -> None:
    # rule: POST-03, POST-02, AMB-16 (QM-18)
    esc = one(remission(**{"fitness.hct_eligible": "yes"}), "POST-03")
    assert (esc.window_start, esc.due_date) == (RESP, plus(RESP, 30))
    assert "patient_preference" in esc.result_fields


def test_ino_11_transplant_handoff_after_inotuzumab() -> None:
    # rule: INO-11, MON-07, AMB-19 — INO exposure from the prior-therapy list.
    exposed = remission(
        **{"fitness.hct_eligible": "yes", "history.prior_therapies": ["inotuzumab_ozogamicin"]}
    )
    assert one(exposed, "INO-11").due_date == plus(RESP, 7)
    assert not of_rule(remission(**{"fitness.hct_eligible": "yes"}), "INO-11")


def test_post_12_surveillance_visits_monthly_in_year_1_then_every_3_months() -> None:
    # rule: POST-12 — anchored on the last dose of the completed therapy, in SM-08.
    last = date(2027, 1, 10)

    def surveillance(as_of: date) -> list:
        return plan(
            make_facts(
                regimen="blinatumomab",
                cycle=5,
                start="2026-12-14",
                phase="maintenance",
                as_of=str(as_of),
                course={"last_dose_date": str(last)},
            )
        )

    year1 = of_rule(surveillance(date(2027, 3, 1)), "POST-12")
    assert [t.due_date for t in year1] == [date(2027, m, 10) for m in (2, 3, 4, 5)]
    assert year1[0].panel == "cbc" and (year1[0].due_date - year1[0].window_start).days == 7
    year2 = of_rule(surveillance(date(2028, 3, 1)), "POST-12")
    assert [t.due_date for t in year2] == [date(2028, 4, 10)]
    assert not of_rule(surveillance(date(2028, 3, 1)), "BLIN-10")  # therapy complete


def test_multi_05_dli_referral_within_7_days_of_relapse_after_allo_hct() -> None:
    # rule: MULTI-05
    tasks = plan(
        make_facts(as_of="2026-11-03", **{"history.prior_allogeneic_hct_date": "2025-03-01"})
    )
    dli = one(tasks, "MULTI-05")
    assert (dli.window_start, dli.window_end) == (date(2026, 11, 2), date(2026, 11, 9))
    assert not of_rule(plan(make_facts(as_of="2026-11-03")), "MULTI-05")


def test_multi_05_no_dli_referral_while_the_prior_therapy_list_is_unrecorded() -> None:
    # rule: MULTI-05, MULTI-06 (the referral needs a prior allogeneic HCT; unknown blocks it)
    unknown = make_facts(as_of="2026-11-03", **{"history.prior_therapies": None})
    tasks = plan(unknown)
    assert not of_rule(tasks, "MULTI-05")
    assert one(tasks, "WU-01")  # the workup asks for the prior-therapy list instead
    listed = make_facts(as_of="2026-11-03", **{"history.prior_therapies": ["allogeneic_hct"]})
    assert one(plan(listed), "MULTI-05")  # on the list, even undated: the referral is planned


# -- fitness (§3) -------------------------------------------------------------------


def test_fit_05_mon_24_reassessment_at_transitions_and_every_90_days() -> None:
    # rule: FIT-05, MON-24
    tasks = course("inotuzumab_ozogamicin")
    new_line = one(tasks, "FIT-05", "fitness_before_new_line")
    assert (new_line.window_start, new_line.due_date) == (plus(C1, -7), C1)
    at_response = one(tasks, "FIT-05", "fitness_at_response")
    assert at_response.window_end == one(tasks, "INO-08").window_end
    hct = one(remission(**{"fitness.hct_eligible": "yes"}), "FIT-05", "fitness_for_transplant")
    assert hct.window_end == plus(RESP, 7)
    fit_on = date(2027, 2, 1)
    maintenance = remission(
        as_of=date(2027, 3, 1), fit_on=fit_on, confirmed_phase=Phase.POST_REMISSION_NON_HCT
    )
    assert [t.due_date for t in of_rule(maintenance, "FIT-05")] == [plus(fit_on, 90)]
    undated = remission(as_of=date(2027, 3, 1), confirmed_phase=Phase.SURVEILLANCE)
    assert [t.due_date for t in of_rule(undated, "FIT-05")] == [
        plus(RESP, 90)
    ]  # falls back to RESP


def test_fit_06_transplant_referral_within_7_days_of_fit() -> None:
    # rule: FIT-06, QM-05 — FIT .. FIT + 7, never the 14-day workup default.
    fit_on = date(2026, 11, 5)
    task = one(plan(make_facts(as_of="2026-11-06", fit_on=fit_on)), "FIT-06")
    assert (task.window_start, task.due_date) == (fit_on, plus(fit_on, 7))
    assert "anchor_fallback" not in task.detail
    # Without a recorded FIT date: counted from DX (2026-11-02), the earliest FIT can be,
    # still within 7 days, and the task says which date it stands in for.
    undated = one(plan(make_facts(as_of="2026-11-06")), "FIT-06")
    assert undated.key.startswith("FIT-06:dx20261102:")
    assert (undated.window_start, undated.due_date) == (date(2026, 11, 2), date(2026, 11, 9))
    assert "fitness assessment date (FIT) not recorded" in undated.detail["anchor_fallback"]
    assert not of_rule(
        plan(make_facts(as_of="2026-11-06", **{"fitness.category": "less_fit"})), "FIT-06"
    )


# -- monitoring and response windows (§6.1, §7) --------------------------------------


def test_mon_26_tls_labs_daily_days_1_to_7_with_high_burden() -> None:
    # rule: MON-26, DEF-14 — marrow blasts above 50 percent or PB blasts above 15,000/microL.
    high = course(**{"disease.marrow_blast_pct": 80.0})
    tls = of_rule(high, "MON-26")
    assert [t.due_date for t in tls] == [plus(C1, n) for n in range(7)] and tls[0].panel == "tls"
    assert {"prephase_marrow_blast_pct_above", "tls_watch_days"} <= set(tls[0].defaults_used)
    assert not of_rule(course(), "MON-26")
    assert of_rule(course(**{"disease.peripheral_blasts_per_ul": 20000}), "MON-26")


def test_chemo_04_marrow_days_28_to_42_from_ind_d1() -> None:
    # rule: CHEMO-04, RESP-03
    marrow = one(course("chemotherapy_high_intensity"), "CHEMO-04")
    assert (marrow.window_start, marrow.window_end) == (plus(C1, 27), plus(C1, 41))


def test_resp_02_symptom_relief_suppresses_marrow_tasks_and_plans_weekly_counts() -> None:
    # rule: RESP-02, RESP-01 — no marrow examination; CBC at least weekly during therapy.
    for regimen, marrow_rule in (
        ("blinatumomab", "BLIN-09"),
        ("inotuzumab_ozogamicin", "INO-08"),
        ("tisagenlecleucel", "CART-07"),
        ("revumenib", "REV-10"),
        ("nelarabine", "NEL-08"),
        ("chemotherapy_low_intensity", "CHEMO-04"),
    ):
        tasks = course(regimen, goal="symptom_relief")
        assert not of_rule(tasks, marrow_rule), regimen
        assert not [t for t in tasks if t.kind is TaskKind.BONE_MARROW_ASSESSMENT], regimen
    counts = of_rule(course("chemotherapy_low_intensity", goal="symptom_relief"), "RESP-02")
    assert [t.day for t in counts] == [1, 8, 15, 22]


def test_fit_07_frail_patient_gets_no_marrow_tasks() -> None:
    # rule: FIT-07 — frail: suppress marrow-response tasks (RESP-02).
    tasks = course("inotuzumab_ozogamicin", **{"fitness.category": "frail"})
    assert not of_rule(tasks, "INO-08")
    assert of_rule(tasks, "INO-05")  # safety monitoring continues


def test_clinical_trial_pauses_the_pathway_tasks() -> None:
    # rule: SM-13 — the trial protocol governs.
    assert (
        plan(
            make_facts(
                regimen="blinatumomab",
                start=C1,
                as_of=str(C1),
                confirmed_phase=Phase.CLINICAL_TRIAL,
            )
        )
        == []
    )
    assert plan(make_facts(as_of=str(C1), confirmed_phase=Phase.ENDED)) == []
