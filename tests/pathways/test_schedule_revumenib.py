"""Revumenib (RULES.md §5.4) with MON-12..16: continuous therapy from day 1."""

from __future__ import annotations

from datetime import date

from pathways.vocab import Phase, TaskKind
from tests.pathways.test_schedule_helpers import days_of, make_facts, of_rule, one, plan, plus

D1 = date(2026, 11, 16)


def rev(as_of: date = D1, **kw: object) -> list:
    return plan(make_facts(regimen="revumenib", start=D1, as_of=str(as_of), **kw))


def test_rev_02_rev_04_rev_06_checks_before_day_1_block_the_first_dose() -> None:
    # rule: REV-02, REV-04, REV-06, MON-13, MON-14, AMB-14
    tasks = rev()
    start = one(tasks, "REV-03")
    for rule, slot in (
        ("REV-02", "weight_baseline"),
        ("REV-04", "cyp3a4_check"),
        ("REV-06", "ecg_baseline"),
        ("REV-06", "electrolytes_baseline"),
    ):
        task = one(tasks, rule, slot)
        assert (task.window_start, task.due_date) == (plus(D1, -7), D1), slot
        assert task.blocks == start.key, slot
    assert one(tasks, "REV-06", "ecg_baseline").safety
    assert {"MON-14", "AMB-14"} <= set(one(tasks, "REV-04").detail["rule_ids"])


def test_rev_03_dose_by_weight_band_and_strong_cyp3a4_inhibitor() -> None:
    # rule: REV-03 — >=40 kg 270 mg twice daily; 160 mg with a strong CYP3A4 inhibitor.
    plain = one(rev(), "REV-03").dose
    assert plain is not None and (plain.value, plain.unit) == (270, "mg twice daily")
    inhibited = one(rev(medications=["posaconazole"]), "REV-03").dose
    assert inhibited is not None and inhibited.value == 160
    small = one(rev(**{"patient.weight_kg": 35.0, "patient.height_cm": 150.0}), "REV-03")
    assert (
        small.dose is not None
        and small.dose.unit == "mg/m2 twice daily"
        and small.dose.value == 160
    )
    assert small.detail["pharmacist_verification"] == "AMB-14"


def test_rev_09_pregnancy_test_before_day_1_for_reproductive_potential() -> None:
    # rule: REV-09
    assert not of_rule(rev(), "REV-09")
    task = one(rev(**{"patient.reproductive_potential": True}), "REV-09")
    assert task.panel == "pregnancy" and task.due_date == D1
    unknown = one(rev(**{"patient.reproductive_potential": None}), "REV-09")
    assert unknown.detail["applies_if"] == ("patient of reproductive potential",)


def test_rev_05_mon_12_differentiation_syndrome_daily_for_4_weeks_then_each_visit() -> None:
    # rule: REV-05, MON-12
    tasks = rev(as_of=plus(D1, 20))
    daily = of_rule(tasks, "REV-05", "ds_daily")
    assert [t.day for t in daily] == list(range(7, 29))  # days 1-6 are before the look-back
    assert all(t.kind is TaskKind.DIFFERENTIATION_SYNDROME_CHECK and t.safety for t in daily)
    assert days_of(tasks, "REV-05", "ds_visit_weekly") == [29, 36, 43, 50]
    assert days_of(tasks, "REV-05", "ds_visit") == [64, 78, 92, 106]


def test_rev_06_mon_13_ecg_and_potassium_magnesium_weekly_x4_then_monthly() -> None:
    # rule: REV-06, MON-13 — safety tasks (ECG on revumenib, RULES.md §10 rule 3).
    tasks = rev()
    assert days_of(tasks, "REV-06", "ecg_weekly") == [8, 15, 22, 29]
    assert days_of(tasks, "REV-06", "electrolytes_weekly") == [8, 15, 22, 29]
    monthly = of_rule(tasks, "REV-06", "ecg_monthly")
    assert [t.due_date for t in monthly] == [date(2027, 1, 16), date(2027, 2, 16)]
    assert all(
        t.kind is TaskKind.ECG and t.safety and t.result_fields == ("qtcf_ms",) for t in monthly
    )


def test_rev_07_mon_15_cbc_weekly_to_week_8_then_every_2_weeks() -> None:
    # rule: REV-07, MON-15
    tasks = rev()
    assert days_of(tasks, "REV-07") == [1, 8, 15, 22, 29, 36, 43, 50]
    assert days_of(tasks, "MON-15") == [64, 78, 92]


def test_rev_02_weight_at_each_visit() -> None:
    # rule: REV-02 — the dose band is re-checked at every visit.
    tasks = rev()
    assert days_of(tasks, "REV-02", "weight_visit_weekly") == [8, 15, 22, 29, 36, 43, 50]
    assert days_of(tasks, "REV-02", "weight_visit") == [64, 78, 92]


def test_rev_10_response_marrow_around_day_28_and_day_56() -> None:
    # rule: REV-10, RESP-03
    tasks = rev()
    first, second = (
        of_rule(tasks, "REV-10", "response_marrow"),
        of_rule(tasks, "REV-10", "second_marrow"),
    )
    assert (first[0].window_start, first[0].due_date, first[0].window_end) == (
        plus(D1, 20),
        plus(D1, 27),
        plus(D1, 34),
    )
    assert second[0].due_date == plus(D1, 55)


def test_rev_12_mon_16_safety_contact_30_days_after_the_last_dose() -> None:
    # rule: REV-12, MON-16 — planned from the recorded last dose, also after relapse.
    last = date(2027, 2, 1)
    tasks = rev(as_of=date(2027, 2, 10), course={"last_dose_date": str(last)})
    contact = one(tasks, "REV-12")
    assert (contact.window_start, contact.due_date, contact.window_end) == (
        plus(last, 30),
        plus(last, 30),
        plus(last, 37),
    )
    assert not [
        t for t in of_rule(tasks, "REV-07") if t.due_date > last
    ]  # no counts after the last dose
    relapsed = plan(
        make_facts(
            regimen="revumenib",
            start=D1,
            as_of="2027-02-10",
            course={"last_dose_date": str(last)},
            confirmed_phase=Phase.RELAPSE,
        )
    )
    assert one(relapsed, "REV-12").key == contact.key
