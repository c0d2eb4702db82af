"""Inotuzumab ozogamicin (RULES.md §5.2) with MON-04..07, on known dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pathways.vocab import ResponseCategory, Role, TaskKind
from tests.pathways.test_schedule_helpers import days_of, make_facts, of_rule, one, plan, plus

C1 = date(2026, 11, 16)


def ino(cycle: int = 1, as_of: date = C1, **kw: object) -> list:
    return plan(
        make_facts(regimen="inotuzumab_ozogamicin", cycle=cycle, start=C1, as_of=str(as_of), **kw)
    )


def test_ino_06_cycle_1_doses_day_1_8_15_per_m2() -> None:
    # rule: INO-06 — 0.8 / 0.5 / 0.5 mg/m2 (total 1.8 [DER]); arithmetic for the pharmacist.
    doses = of_rule(ino(), "INO-06")
    assert [(t.day, t.due_date) for t in doses] == [(1, C1), (8, plus(C1, 7)), (15, plus(C1, 14))]
    assert [t.dose.value for t in doses if t.dose] == [0.8, 0.5, 0.5]
    first = doses[0].dose
    assert first is not None and first.bsa_m2 == 2.0 and first.calculated_mg == 1.6
    assert not first.released
    assert doses[1].title == "Inotuzumab ozogamicin 0.5 mg/m2 (cycle 1 day 8)"
    assert all(t.role is Role.CLINICIAN and t.kind is TaskKind.DOSE for t in doses)


def test_ino_05_lft_panel_72_h_before_every_dose_blocks_it() -> None:
    # rule: INO-05, MON-05 (QM-14) — safety task, resulted <=72 h before the dose.
    tasks = ino()
    lfts = of_rule(tasks, "INO-05", "lft_before_dose")
    assert [t.day for t in lfts] == [1, 8, 15]
    dose_keys = {t.day: t.key for t in of_rule(tasks, "INO-06")}
    for lft in lfts:
        assert lft.safety and lft.panel == "lft"
        assert lft.result_fields == ("alt", "ast", "total_bilirubin", "alp")
        assert lft.detail["max_hours_before"] == 72
        assert lft.due_date == plus(C1, (lft.day or 0) - 1)
        assert (lft.due_date - lft.window_start).days == 3
        assert lft.blocks == dose_keys[lft.day]
        assert "ino_lft_before_dose_hours" in lft.defaults_used


def test_ino_05_lft_panel_after_each_dose() -> None:
    # rule: INO-05, MON-05 — after each dose, within the dosing interval (DEFAULT).
    after = of_rule(ino(), "INO-05", "lft_after_dose")
    assert [(t.day, t.window_start, t.window_end) for t in after] == [
        (1, C1, plus(C1, 7)),
        (8, plus(C1, 7), plus(C1, 14)),
        (15, plus(C1, 14), plus(C1, 21)),
    ]
    assert all(t.safety for t in after)


def test_safety_tasks_are_not_suppressed_by_a_normal_earlier_result() -> None:
    # rule: INO-05 — RULES.md §10 rule 3: a normal LFT panel does not remove the next one.
    normal = [
        {"test": "alt", "value": 20, "unit": "U/L", "uln": 40, "at": "2026-11-14T08:00:00-05:00"},
        {
            "test": "total_bilirubin",
            "value": 0.5,
            "unit": "mg/dL",
            "uln": 1.2,
            "at": "2026-11-14T08:00:00-05:00",
        },
    ]
    with_labs = ino(labs=normal)
    without = ino()
    assert [t.key for t in of_rule(with_labs, "INO-05")] == [
        t.key for t in of_rule(without, "INO-05")
    ]


def test_ino_03_ino_04_premedication_and_one_hour_observation_each_dose() -> None:
    # rule: INO-03, INO-04, MON-04 (QM-15)
    tasks = ino()
    assert days_of(tasks, "INO-03") == [1, 8, 15]
    obs = of_rule(tasks, "INO-04")
    assert [t.day for t in obs] == [1, 8, 15]
    assert all(t.kind is TaskKind.POST_INFUSION_OBSERVATION for t in obs)
    assert obs[0].result_fields == ("infusion_end_at", "observation_end_at")
    assert "MON-04" in obs[0].detail["rule_ids"]


def test_mon_06_cbc_before_each_dose() -> None:
    # rule: MON-06
    cbcs = of_rule(ino(), "MON-06")
    assert [t.day for t in cbcs] == [1, 8, 15] and all(t.panel == "cbc" for t in cbcs)


def test_ino_07_cycle_1_length_decision_and_ino_08_marrow_before_cycle_2() -> None:
    # rule: INO-07, INO-08, RESP-03 — standard 21-day cycle: marrow C1_D18..C1_D21.
    tasks = ino()
    length = one(tasks, "INO-07")
    assert (length.window_start, length.window_end) == (plus(C1, 14), plus(C1, 20))
    marrow = one(tasks, "INO-08")
    assert (marrow.window_start, marrow.window_end) == (plus(C1, 17), plus(C1, 20))
    assert marrow.due_date == plus(C1, 20)  # signed before C2_D1 = C1_D22
    assert {"ino_marrow_from_day", "ino_marrow_to_day"} <= set(marrow.defaults_used)


def test_ino_07_extended_cycle_1_moves_the_marrow_window_to_day_28() -> None:
    # rule: INO-07 — Course.cycle_length_days = 28: C2_D1 = C1_D29, marrow to C1_D28.
    tasks = ino(course={"cycle_length_days": 28})
    assert one(tasks, "INO-08").window_end == plus(C1, 27)
    assert not of_rule(tasks, "INO-07")  # the length is recorded: no decision task


def test_ino_09_cycle_2_without_a_signed_response_shows_both_doses() -> None:
    # rule: INO-09, AMB-03 — the dose waits for the signed category; never auto-selected.
    doses = of_rule(ino(cycle=2), "INO-09")
    assert [t.day for t in doses] == [1, 8, 15]
    d1 = doses[0]
    assert d1.dose is not None and d1.dose.value is None
    assert d1.detail["dose_awaits"] == "signed_response"
    options = {o["if"]: o["value"] for o in d1.detail["dose_options"]}
    assert options == {"CR or CRi": 0.5, "less than CR/CRi": 0.8}
    assert "awaits the signed response" in d1.title


def test_ino_09_cycle_2_days_8_and_15_are_the_same_for_every_response() -> None:
    # rule: INO-09 — only D1 depends on the response (0.5 vs 0.8); D8 and D15 are
    # 0.5 mg/m2 either way, so they show the dose and its arithmetic, not "0.5 or 0.5".
    doses = {t.day: t for t in of_rule(ino(cycle=2), "INO-09")}
    for day in (8, 15):
        task = doses[day]
        assert task.dose is not None and task.dose.value == 0.5
        assert task.dose.bsa_m2 == 2.0 and task.dose.calculated_mg == 1.0
        assert not task.dose.released
        assert "dose_awaits" not in task.detail and " or " not in task.title
        assert task.title == f"Inotuzumab ozogamicin 0.5 mg/m2 (cycle 2 day {day})"
    assert doses[1].dose is not None and doses[1].dose.value is None


@pytest.mark.parametrize(
    ("category", "day_1_dose"),
    [
        (ResponseCategory.CR, 0.5),
        (ResponseCategory.CRI, 0.5),
        (ResponseCategory.NOT_IN_REMISSION, 0.8),
        (ResponseCategory.PARTIAL_RESPONSE, 0.8),
    ],
)
def test_ino_09_cycle_2_dose_follows_the_signed_response(
    category: ResponseCategory, day_1_dose: float
) -> None:
    # rule: INO-09 — CR/CRi: 0.5 on D1, D8, D15; less than CR/CRi: as cycle 1.
    tasks = ino(cycle=2, signed=(category, plus(C1, -3)))
    doses = of_rule(tasks, "INO-09")
    assert [t.dose.value for t in doses if t.dose] == [day_1_dose, 0.5, 0.5]
    assert doses[0].detail["signed_response"] == category.value


def test_ino_09_signed_crh_is_ambiguous_and_shows_both() -> None:
    # rule: INO-09, AMB-03 — whether CRh counts as CR/CRi is not in the source.
    d1 = one(ino(cycle=2, signed=(ResponseCategory.CRH, plus(C1, -3))), "INO-09", day=1)
    assert d1.dose is not None and d1.dose.value is None and "AMB-03" in (d1.dose.note or "")


def test_ino_09_a_signature_from_before_cycle_1_is_not_the_cycle_1_response() -> None:
    # rule: INO-09 — INO-07: cycle 1 lasts at most 28 days, so an older signature does not count.
    d1 = one(ino(cycle=2, signed=(ResponseCategory.CR, date(2026, 6, 1))), "INO-09", day=1)
    assert d1.dose is not None and d1.dose.value is None


def test_ino_10_cycle_3_doses_per_the_signed_order_and_cycle_count_decision() -> None:
    # rule: INO-10, AMB-19
    tasks = ino(cycle=3)
    doses = of_rule(tasks, "INO-10", "dose")
    assert [t.day for t in doses] == [1, 8, 15] and all(t.dose is None for t in doses)
    count = one(tasks, "INO-10", "cycle_count")
    assert count.window_end == plus(C1, 27)  # 28-day later cycles (INO-09 DEFAULT)
    assert count.detail["policy"]["ino_cycles_max_without_hct"] == 6
    assert "ino_cycle2_length_days" in count.defaults_used
    assert not of_rule(ino(), "INO-10")


def test_ino_11_transplant_team_alert_and_sos_watch() -> None:
    # rule: INO-11, IND-13, MON-07 — alert when hct_eligible is yes or pending, not when no.
    tasks = ino()
    alert = one(tasks, "INO-11", "transplant_alert")
    assert alert.kind is TaskKind.TRANSPLANT_REFERRAL and alert.due_date == C1
    assert one(tasks, "INO-11", "sos_watch").due_date == C1
    assert not of_rule(ino(**{"fitness.hct_eligible": "no"}), "INO-11", "transplant_alert")


def test_ino_02_cytoreduction_before_the_first_dose_when_blasts_are_high() -> None:
    # rule: INO-02 — above 10,000/microL circulating blasts (DEFAULT, US label).
    high = ino(**{"disease.peripheral_blasts_per_ul": 25000})
    task = one(high, "INO-02")
    assert (task.window_start, task.due_date) == (plus(C1, -7), C1)
    assert not of_rule(ino(), "INO-02")


def test_lft_window_edges_are_local_midnights() -> None:
    # rule: INO-05 — not_before is the start of the clinic day (America/New_York, EST).
    lft = one(ino(), "INO-05", "lft_before_dose", day=8)
    assert lft.not_before == datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
    assert lft.due == datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
