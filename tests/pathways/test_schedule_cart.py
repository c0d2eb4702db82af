"""CAR-T (RULES.md §5.3) with MON-08..11; the course anchor is the infusion day 0."""

from __future__ import annotations

from datetime import date

from pathways.vocab import ResponseCategory, TaskKind
from tests.pathways.test_schedule_helpers import days_of, make_facts, of_rule, one, plan, plus

D0 = date(2026, 11, 16)


def cart(product: str = "brexucabtagene_autoleucel", as_of: date = D0, **kw: object) -> list:
    return plan(make_facts(regimen=product, start=D0, as_of=str(as_of), **kw))


def test_cart_02_mon_08_readiness_before_lymphodepletion_and_before_infusion() -> None:
    # rule: CART-02, MON-08, AMB-10 — configuration flags are shown, the infusion waits.
    tasks = cart(as_of=plus(D0, -7))
    before_ld = one(tasks, "CART-02", "readiness_lymphodepletion")
    assert (before_ld.window_start, before_ld.due_date) == (plus(D0, -14), plus(D0, -7))
    assert before_ld.detail["policy"] == {
        "cart_check_certification": True,
        "cart_check_tocilizumab": True,
        "cart_check_rems": False,
    }
    before_inf = one(tasks, "CART-02", "readiness_infusion")
    infusion = one(tasks, "CART-03", "infusion")
    assert before_inf.safety and before_inf.blocks == infusion.key
    assert (before_inf.window_start, before_inf.due_date) == (plus(D0, -1), D0)
    assert "MON-08" in before_inf.detail["rule_ids"] and "AMB-10" in before_inf.detail["rule_ids"]


def test_cart_03_sequence_lymphodepletion_then_infusion_day_0() -> None:
    # rule: CART-03 — task days are label defaults; the signed order governs.
    tasks = cart(as_of=plus(D0, -7))
    ld = one(tasks, "CART-03", "lymphodepletion")
    assert (ld.window_start, ld.window_end) == (plus(D0, -7), plus(D0, -1))
    assert one(tasks, "CART-03", "manufacturing").due_date == plus(D0, -7)
    infusion = one(tasks, "CART-03", "infusion")
    assert infusion.due_date == D0 and infusion.day == 0 and infusion.kind is TaskKind.DOSE
    assert infusion.title == "brexucabtagene autoleucel infusion (INF_D0)"
    assert not of_rule(tasks, "CART-03", "second_split_dose")


def test_cart_03_obecabtagene_split_dose_about_day_10() -> None:
    # rule: CART-03 — obe-cel split dose (~D1 and ~D10 of the label; verify).
    second = one(cart("obecabtagene_autoleucel"), "CART-03", "second_split_dose")
    assert (second.window_start, second.due_date, second.window_end) == (
        plus(D0, 7),
        plus(D0, 9),
        plus(D0, 11),
    )


def test_cart_04_cart_05_crs_icans_daily_to_day_7_then_to_day_14() -> None:
    # rule: CART-04, CART-05, MON-09, MON-10
    tasks = cart()
    daily = of_rule(tasks, "CART-04", "crs_icans_daily")
    assert [t.day for t in daily] == list(range(8))
    assert [t.due_date for t in daily] == [plus(D0, n) for n in range(8)]
    assert all(t.safety and t.kind is TaskKind.CRS_ICANS_MONITORING for t in daily)
    assert {"CART-05", "MON-09", "MON-10"} <= set(daily[0].detail["rule_ids"])
    continued = one(tasks, "CART-04", "crs_icans_continued")
    assert (continued.window_start, continued.window_end) == (D0, plus(D0, 14))


def test_cart_06_mon_11_counts_igg_and_second_malignancy_follow_up() -> None:
    # rule: CART-06, MON-11 — CBC weekly to D28, monthly to month 3; IgG monthly to month 6.
    tasks = cart()
    assert days_of(tasks, "CART-06", "cbc_weekly") == [7, 14, 21, 28]
    monthly = of_rule(tasks, "CART-06", "cbc_monthly")
    # month 3 (2027-02-16) opens 2027-02-09, inside the horizon (as_of + 90 = 2027-02-14)
    assert [t.due_date for t in monthly] == [date(2027, 1, 16), date(2027, 2, 16)]
    igg = of_rule(cart(as_of=date(2027, 3, 20)), "CART-06", "igg_monthly")
    assert [t.due_date for t in igg] == [date(2027, 3, 16), date(2027, 4, 16), date(2027, 5, 16)]
    assert not of_rule(cart(as_of=date(2027, 7, 1)), "CART-06", "igg_monthly")  # to month 6
    yearly = of_rule(cart(as_of=date(2029, 11, 1)), "CART-06", "malignancy_review")
    assert [t.due_date for t in yearly] == [date(2029, 11, 16)]


def test_cart_07_response_marrow_day_28_plus_minus_4() -> None:
    # rule: CART-07, RESP-03
    marrow = one(cart(), "CART-07")
    assert (marrow.window_start, marrow.due_date, marrow.window_end) == (
        plus(D0, 24),
        plus(D0, 28),
        plus(D0, 32),
    )
    assert not of_rule(cart(goal="symptom_relief"), "CART-07")  # RESP-02


def test_cart_08_hct_decision_case_by_case_after_a_signed_remission() -> None:
    # rule: CART-08
    tasks = cart(as_of=plus(D0, 35), signed=(ResponseCategory.CR, plus(D0, 33)))
    task = one(tasks, "CART-08")
    assert (task.window_start, task.window_end) == (plus(D0, 33), plus(D0, 40))


def test_amb_10_tocilizumab_check_is_a_programme_flag() -> None:
    # rule: AMB-10, MON-08 — a programme that drops the per-infusion check loses that task only.
    from pathways.definition import load_definition
    from pathways.policy import Policy
    from pathways.schedules import plan_tasks

    custom = load_definition(overrides={"cart_check_tocilizumab": False})
    facts = make_facts(regimen="tisagenlecleucel", start=D0, as_of=str(D0))
    tasks = plan_tasks(facts, custom, Policy(custom))
    assert not of_rule(tasks, "CART-02", "readiness_infusion")
    assert of_rule(cart(product="tisagenlecleucel"), "CART-02", "readiness_infusion")
    assert (
        one(tasks, "CART-02", "readiness_lymphodepletion").detail["policy"][
            "cart_check_tocilizumab"
        ]
        is False
    )
