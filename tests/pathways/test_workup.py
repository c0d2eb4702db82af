"""The workup checklist (RULES.md §2): WU-01..29 and WU-23a-d, with their conditions and windows."""

from __future__ import annotations

from datetime import date

from pathways.policy import Policy
from pathways.vocab import Phase, TaskKind
from pathways.workup import workup_checklist
from tests.pathways.test_schedule_helpers import definition, make_facts, of_rule, one, plan, plus

DX = date(2026, 11, 2)  # the base case's relapse date
AS_OF = date(2026, 11, 5)
ALWAYS = [f"WU-{n:02d}" for n in range(1, 30) if n not in (7, 11, 22, 25, 26)]


def workup(**kw: object) -> list:
    kw.setdefault("as_of", str(AS_OF))
    return [t for t in plan(make_facts(**kw)) if t.rule_id.startswith("WU-")]


def test_workup_lists_every_item_for_a_patient_without_a_course() -> None:
    # rule: WU-01, WU-02, WU-03, WU-04, WU-05, WU-06, WU-08, WU-09, WU-10, WU-12, WU-13, WU-14,
    # WU-15, WU-16, WU-17, WU-18, WU-19, WU-20, WU-21, WU-23, WU-24, WU-27, WU-28, WU-29
    tasks = workup(**{"patient.has_testes": False})
    assert sorted({t.rule_id for t in tasks}) == ALWAYS
    for task in tasks:
        # DX .. DX + 14 days while IND_D1 is unknown (DEFAULT)
        assert (task.window_start, task.due_date, task.window_end) == (
            DX,
            plus(DX, 14),
            plus(DX, 14),
        ), task.key
        assert "workup_due_days_without_ind_d1" in task.defaults_used
        assert task.key.startswith(f"{task.rule_id}:wu20261102:w:")


def test_workup_kinds_lp_and_clinician_review_items() -> None:
    # rule: WU-23, WU-23a, WU-23b, WU-23c, WU-23d, WU-26, WU-20, WU-21
    tasks = workup()
    lp = one(tasks, "WU-23")
    assert lp.kind is TaskKind.LUMBAR_PUNCTURE
    assert {"WU-23a", "WU-23b", "WU-23c", "WU-23d", "WU-26"} <= set(lp.detail["rule_ids"])
    assert {"csf_cytology", "csf_flow_cytometry"} <= set(lp.result_fields)
    for rule in ("WU-20", "WU-21", "WU-22"):
        review = one(tasks, rule)
        assert (
            review.kind is TaskKind.CLINICIAN_REVIEW
            and review.detail["requirement"] == "if_indicated"
        )
    others = [t for t in tasks if t.rule_id not in ("WU-20", "WU-21", "WU-22", "WU-23")]
    assert all(t.kind is TaskKind.WORKUP_ITEM for t in others)


def test_workup_roles_follow_the_who_column() -> None:
    # rule: WU-01, WU-12, WU-24 coordinator; WU-02 clinician
    tasks = workup()
    assert "DEF-12" in one(tasks, "WU-01").detail["rule_ids"]  # prolonged-remission dates
    assert {"FIT-01", "FIT-02", "FIT-03"} <= set(one(tasks, "WU-27").detail["rule_ids"])
    assert "IND-02" in one(tasks, "WU-29").detail["rule_ids"]  # clinical-trial prompt
    assert "CNS-02" in one(tasks, "WU-20").detail["rule_ids"]  # imaging for neuro findings
    assert "RESP-01" in one(tasks, "WU-28").detail["rule_ids"]
    assert one(tasks, "WU-01").role.value == "coordinator"
    assert one(tasks, "WU-12").role.value == "coordinator"
    assert one(tasks, "WU-24").role.value == "coordinator"
    assert one(tasks, "WU-02").role.value == "clinician"


def test_wu_07_kinase_domain_mutations_only_for_ph_positive() -> None:
    # rule: WU-07
    assert not of_rule(workup(), "WU-07")
    assert one(workup(**{"disease.ph_positive": True}), "WU-07")
    pending = one(workup(**{"disease.ph_positive": None}), "WU-07")
    assert pending.detail["applies_if"] == ("Ph-positive (DEF-13)",)


def test_wu_11_wu_22_testicular_items_for_patients_with_testes() -> None:
    # rule: WU-11, WU-22, TEST-01
    with_testes = workup()
    assert one(with_testes, "WU-11").detail["requirement"] == "required"
    assert "TEST-01" in one(with_testes, "WU-11").detail["rule_ids"]
    assert one(with_testes, "WU-22")
    without = workup(**{"patient.has_testes": False})
    assert not of_rule(without, "WU-11") and not of_rule(without, "WU-22")


def test_wu_25_pregnancy_test_for_reproductive_potential() -> None:
    # rule: WU-25
    assert not of_rule(workup(), "WU-25")
    assert one(workup(**{"patient.reproductive_potential": True}), "WU-25")


def test_wu_16_hla_typing_within_7_days_of_fit_unless_frail() -> None:
    # rule: WU-16, AMB-23
    fit_on = date(2026, 11, 4)
    hla = one(workup(fit_on=fit_on), "WU-16")
    assert (hla.window_start, hla.due_date) == (fit_on, plus(fit_on, 7))
    assert "hla_typing_within_days_of_fit" in hla.defaults_used
    assert one(workup(), "WU-16").due_date == plus(DX, 14)  # no FIT date: the workup window
    assert not of_rule(workup(**{"fitness.category": "frail"}), "WU-16")


def test_wu_17_is_consider_and_wu_19_required_after_anthracycline() -> None:
    # rule: WU-17, WU-19, AMB-21
    tasks = workup()
    assert one(tasks, "WU-17").detail["requirement"] == "consider"
    assert one(tasks, "WU-19").detail["requirement"] == "required"  # hyper-CVAD: doxorubicin
    naive = workup(**{"history.prior_therapies": ["blinatumomab"]})
    assert one(naive, "WU-19").detail["requirement"] == "recommended"


def test_workup_window_ends_before_ind_d1_and_labs_repeat_within_72_h() -> None:
    # rule: WU-12, WU-13, WU-14 — with IND_D1 known; the LP moves to the course plan (CNS-01).
    ind_d1 = date(2026, 11, 16)
    tasks = plan(make_facts(regimen="inotuzumab_ozogamicin", start=ind_d1, as_of=str(AS_OF)))
    marrow = one(tasks, "WU-02")
    assert (marrow.window_start, marrow.window_end) == (DX, plus(ind_d1, -1))
    for rule in ("WU-12", "WU-13", "WU-14"):
        repeat = one(tasks, rule, day=1)
        assert (repeat.window_start, repeat.due_date) == (plus(ind_d1, -3), ind_d1)
        assert repeat.detail["max_hours_before"] == 72
        assert repeat.key.startswith(f"{rule}:wu20261102:i:d1:")
    assert not of_rule(tasks, "WU-23")
    assert one(tasks, "CNS-01")


def test_no_workup_once_the_course_is_in_progress() -> None:
    # rule: WU-01 — CASE-FORMAT: the workup is for a patient with no course in progress.
    ind_d1 = date(2026, 11, 16)
    on_day_1 = plan(make_facts(regimen="blinatumomab", start=ind_d1, as_of=str(ind_d1)))
    assert of_rule(on_day_1, "WU-12")  # IND_D1 itself: the pre-IND_D1 labs are due
    day_2 = plan(make_facts(regimen="blinatumomab", start=ind_d1, as_of=str(plus(ind_d1, 1))))
    assert not [t for t in day_2 if t.rule_id.startswith("WU-")]


def test_relapse_re_workup_ignores_the_previous_line_course() -> None:
    # rule: WU-01, SM-09 — a course from before DX belongs to the earlier line.
    facts = make_facts(
        regimen="inotuzumab_ozogamicin",
        cycle=2,
        start="2026-06-01",
        as_of=str(AS_OF),
        confirmed_phase=Phase.RELAPSE,
    )
    tasks = plan(facts)
    assert {t.rule_id for t in tasks if t.rule_id.startswith("WU-")} >= set(ALWAYS)
    assert not of_rule(tasks, "INO-09")


def test_workup_checklist_returns_only_the_workup_items() -> None:
    # rule: WU-27, WU-28, WU-29
    defn = definition()
    policy = Policy(defn)
    items = workup_checklist(make_facts(as_of=str(AS_OF)), defn, policy)
    assert {t.rule_id for t in items} >= {"WU-27", "WU-28", "WU-29"}
    assert all(t.rule_id.startswith("WU-") for t in items)
    assert "workup_due_days_without_ind_d1" in policy.used


def test_workup_without_a_dx_date_opens_on_as_of_with_undated_keys() -> None:
    # rule: WU-01, SM-02 — refractory disease recorded without a date: the window opens on
    # as_of (DX + 14 d default), and the keys do not carry as_of.
    facts = make_facts(
        as_of=str(AS_OF), **{"history.status": "refractory", "history.relapse_dates": []}
    )
    marrow = one([t for t in plan(facts) if t.rule_id.startswith("WU-")], "WU-02")
    assert (marrow.window_start, marrow.window_end) == (AS_OF, plus(AS_OF, 14))
    assert marrow.key == "WU-02:wu-undated:w:wu02_marrow"
