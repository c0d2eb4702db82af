"""Blinatumomab (RULES.md §5.1) with its monitoring windows (MON-01..03), on known dates."""

from __future__ import annotations

from datetime import date

from pathways.definition import shipped_definition
from pathways.monitoring import evaluate_monitoring
from pathways.policy import Policy
from pathways.vocab import Role, TaskKind
from tests.pathways.test_schedule_helpers import days_of, make_facts, of_rule, one, plan, plus

C1 = date(2026, 11, 16)  # cycle 1 day 1 (a Monday)


def blin(cycle: int = 1, phase: str = "induction", as_of: date = C1, **changes: object) -> list:
    return plan(
        make_facts(
            regimen="blinatumomab", cycle=cycle, start=C1, phase=phase, as_of=str(as_of), **changes
        )
    )


def test_blin_01_prephase_p1_to_p7_and_cycle_1_not_before_p8() -> None:
    # rule: BLIN-01, IND-11 — one week of pre-phase, earliest C1_D1 = P8 [DER].
    tasks = plan(
        make_facts(
            regimen="blinatumomab",
            start=C1,
            phase="prephase",
            as_of="2026-11-09",
            course={"prephase_start": "2026-11-09"},
        )
    )
    pre = one(tasks, "BLIN-01", "prephase")
    assert (pre.window_start, pre.due_date, pre.window_end) == (
        date(2026, 11, 9),
        date(2026, 11, 9),
        date(2026, 11, 15),
    )
    assert pre.kind is TaskKind.DOSE and pre.role is Role.CLINICIAN and pre.dose is None
    assert "IND-11" in pre.detail["rule_ids"]
    check = one(tasks, "BLIN-01", "prephase_end")
    assert check.due_date == date(2026, 11, 16)  # P8


def test_blin_01_prephase_start_derived_when_not_recorded() -> None:
    # rule: BLIN-01 [DER] P1 = C1_D1 - 7 for a course recorded in its pre-phase without P1.
    tasks = plan(make_facts(regimen="blinatumomab", start=C1, phase="prephase", as_of="2026-11-09"))
    assert one(tasks, "BLIN-01", "prephase").window_start == date(2026, 11, 9)


def test_blin_02_inpatient_cycle_1_days_1_to_9_and_cycle_2_days_1_to_2() -> None:
    # rule: BLIN-02 (QM-13): inpatient C1_D1-C1_D9 and C2_D1-C2_D2 by default.
    c1 = one(blin(), "BLIN-02", "inpatient_c1")
    assert (c1.window_start, c1.window_end) == (C1, plus(C1, 8))
    assert c1.kind is TaskKind.INPATIENT_MONITORING and c1.role is Role.COORDINATOR
    assert "blin_inpatient_cycle1_days" in c1.defaults_used
    c2 = one(blin(cycle=2), "BLIN-02", "inpatient_c2")
    assert (c2.window_start, c2.window_end) == (C1, plus(C1, 1))
    later = blin(cycle=3)
    assert not of_rule(later, "BLIN-02", "inpatient_c1") and not of_rule(
        later, "BLIN-02", "inpatient_c2"
    )
    assert one(later, "BLIN-02", "supervised_start").due_date == C1


def test_mon_01_mon_02_crs_icans_checks_daily_in_the_inpatient_windows() -> None:
    # rule: MON-01, MON-02, BLIN-12 — safety tasks, daily through the inpatient stay.
    c1 = of_rule(blin(), "MON-01")
    assert [t.day for t in c1] == list(range(1, 10))
    assert all(t.safety and t.kind is TaskKind.CRS_ICANS_MONITORING for t in c1)
    assert all(set(t.detail["rule_ids"]) >= {"MON-01", "MON-02", "BLIN-12"} for t in c1)
    assert c1[0].detail["policy"] == {
        "crs_vitals_every_hours": 4,
        "icans_check_every_hours": (8, 12),
    }
    assert days_of(blin(cycle=2), "MON-01") == [1, 2]
    assert days_of(blin(cycle=4), "MON-01") == [1]


def test_blin_03_premedication_on_day_1_and_before_the_step_up() -> None:
    # rule: BLIN-03 — dexamethasone 20 mg IV 1 h before (DEFAULT, US label).
    tasks = blin()
    start = one(tasks, "BLIN-03", "premed_start")
    assert start.due_date == C1 and start.kind is TaskKind.PREMEDICATION
    assert start.dose is not None and start.dose.value == 20 and not start.dose.released
    step = one(tasks, "BLIN-03", "premed_step_up")
    assert step.due_date == plus(C1, 7)
    assert not of_rule(blin(cycle=2), "BLIN-03", "premed_step_up")


def test_blin_04_civi_days_1_to_28_start_dose_by_weight_band() -> None:
    # rule: BLIN-04, BLIN-05 — >=45 kg 9 mcg/day in cycle 1, 28 mcg/day later (DEFAULT, label).
    c1 = one(blin(), "BLIN-04")
    assert c1.due_date == C1 and c1.dose is not None
    assert (c1.dose.value, c1.dose.unit) == (9, "mcg/day")
    assert c1.title.startswith("Blinatumomab CIVI cycle 1 days 1-28: start at 9 mcg/day")
    assert one(blin(cycle=2), "BLIN-04").dose.value == 28  # type: ignore[union-attr]
    assert one(blin(phase="consolidation"), "BLIN-04").dose.value == 28  # type: ignore[union-attr]


def test_blin_05_small_adult_dose_is_per_m2_and_capped() -> None:
    # rule: BLIN-05 — <45 kg: 5 mcg/m2/day, max 9 mcg/day.
    small = one(blin(**{"patient.weight_kg": 40.0, "patient.height_cm": 150.0}), "BLIN-04")
    assert small.dose is not None and small.dose.unit == "mcg/m2/day" and small.dose.value == 5
    assert small.dose.calculated_mg is not None and small.dose.calculated_mg <= 9
    assert "bsa_formula" in small.defaults_used
    unknown = one(blin(**{"patient.weight_kg": ...}), "BLIN-04")
    assert unknown.dose is not None and unknown.dose.value is None


def test_blin_05_step_up_on_the_default_day_with_the_amb_07_flag() -> None:
    # rule: BLIN-05, AMB-07 — label day 8 vs source "after the first eight days": the
    # window covers both and the signed order gives the date.
    step = one(blin(), "BLIN-05")
    assert (step.window_start, step.due_date, step.window_end) == (
        plus(C1, 7),
        plus(C1, 7),
        plus(C1, 8),
    )
    assert step.detail["pharmacist_flag"] == "AMB-07"
    assert "signed order" in step.detail["discrepancy"]
    assert step.dose is not None and step.dose.value == 28
    assert not of_rule(blin(cycle=2), "BLIN-05")


def test_blin_06_treatment_free_days_29_to_42_and_next_cycle_on_day_43() -> None:
    # rule: BLIN-06, BLIN-08 — 28 + 14 days [DER]; cycle count per clinician (DEFAULT).
    free = one(blin(), "BLIN-06")
    assert (free.window_start, free.window_end) == (plus(C1, 28), plus(C1, 41))
    assert free.detail["next_cycle_day_1"] == "2026-12-28"
    assert "day 43 (2026-12-28)" in free.title
    assert free.detail["policy"] == {
        "blin_induction_cycles_max": 2,
        "blin_consolidation_cycles_max": 3,
    }
    assert not of_rule(blin(phase="maintenance"), "BLIN-06")


def test_blin_09_response_marrow_cycle_1_days_29_to_42_before_cycle_2() -> None:
    # rule: BLIN-09, RESP-03
    marrow = one(blin(), "BLIN-09")
    assert (marrow.window_start, marrow.due_date, marrow.window_end) == (
        date(2026, 12, 14),
        date(2026, 12, 27),
        date(2026, 12, 27),
    )
    assert marrow.kind is TaskKind.BONE_MARROW_ASSESSMENT
    assert {"marrow_blast_pct", "mrd_value"} <= set(marrow.result_fields)
    assert {"RESP-03", "RESP-05"} <= set(marrow.detail["rule_ids"])  # RESP-05: MRD method/value
    assert not of_rule(blin(cycle=2), "BLIN-09")


def test_mon_03_cbc_weekly_during_the_infusion() -> None:
    # rule: MON-03
    cbc = of_rule(blin(), "MON-03")
    assert [t.day for t in cbc] == [1, 8, 15, 22]
    assert cbc[1].due_date == plus(C1, 7) and cbc[1].panel == "cbc"
    assert (cbc[1].window_start, cbc[1].window_end) == (plus(C1, 6), plus(C1, 8))


def test_cns_04_one_it_per_cycle_with_the_diagnostic_lp_in_cycle_1() -> None:
    # rule: CNS-04, CNS-03, BLIN-11, CNS-01 (WU-23a: the first IT carries the diagnostic LP)
    tasks = blin()
    it = one(tasks, "CNS-04")
    assert it.kind is TaskKind.INTRATHECAL_THERAPY and it.due_date == C1
    assert "BLIN-11" in it.detail["rule_ids"]
    lp = one(tasks, "CNS-01")
    assert lp.kind is TaskKind.LUMBAR_PUNCTURE and {"csf_cytology", "csf_flow_cytometry"} <= set(
        lp.result_fields
    )
    assert one(blin(cycle=2), "CNS-04").due_date == C1
    assert not of_rule(blin(cycle=2), "CNS-01")
    assert not of_rule(blin(phase="maintenance"), "CNS-04")  # induction and consolidation only


def test_blin_10_maintenance_every_84_days_plus_minus_7_for_12_months() -> None:
    # rule: BLIN-10, POST-10 (QM-19) — only maintenance-phase courses; 12 months by default.
    m1 = date(2027, 1, 4)
    starts: dict[str, date] = {}
    for offset in range(0, 420, 60):  # plan as the months pass; keys are stable
        tasks = plan(
            make_facts(
                regimen="blinatumomab",
                cycle=1,
                start=m1,
                phase="maintenance",
                as_of=str(plus(m1, offset)),
            )
        )
        for t in of_rule(tasks, "BLIN-10"):
            starts[t.key] = t.due_date
            assert (t.due_date - t.window_start).days == 7 and (t.window_end - t.due_date).days == 7
            assert t.kind is TaskKind.MAINTENANCE_CYCLE_START
    assert sorted(starts.values()) == [plus(m1, 84 * k) for k in range(5)]
    assert not of_rule(blin(), "BLIN-10")


def test_blin_10_later_maintenance_cycle_counts_from_its_own_start() -> None:
    # rule: BLIN-10 — cycle 2 recorded on its actual day 1: the next is 84 days later.
    m2 = date(2027, 3, 30)
    tasks = plan(
        make_facts(regimen="blinatumomab", cycle=2, start=m2, phase="maintenance", as_of=str(m2))
    )
    dues = sorted(t.due_date for t in of_rule(tasks, "BLIN-10"))
    assert dues == [m2, plus(m2, 84)]
    assert one(tasks, "MON-01").due_date == m2  # CRS/ICANS check at each cycle start


def test_dose_tasks_stop_after_the_last_dose() -> None:
    # rule: BLIN-04 — a course stopped on day 10 plans no later doses, but its marrow stays.
    tasks = blin(course={"last_dose_date": "2026-11-25"})
    assert not [t for t in of_rule(tasks, "MON-03") if t.day == 15]
    assert one(tasks, "BLIN-09")


def test_blin_02_consolidation_cycle_starts_are_supervised_not_admitted() -> None:
    # rule: BLIN-02, MON-01 — consolidation follows the two induction cycles: each start is
    # supervised (or inpatient) whatever the consolidation cycle's own number.
    tasks = blin(cycle=1, phase="consolidation")
    assert not of_rule(tasks, "BLIN-02", "inpatient_c1")
    start = one(tasks, "BLIN-02", "supervised_later_start")
    assert start.due_date == C1 and start.title.startswith(
        "Blinatumomab consolidation cycle 1 start"
    )
    assert days_of(tasks, "MON-01") == [1]
    assert not of_rule(tasks, "BLIN-05") and not of_rule(tasks, "BLIN-09")


def test_blin_01_c1d1_before_p8_is_a_critical_alert_and_day_1_waits_on_the_decision() -> None:
    # rule: BLIN-01, IND-11, QM-12 — P1 2026-11-12, C1_D1 2026-11-16 = P5 (P8 = 2026-11-19).
    facts = make_facts(
        regimen="blinatumomab",
        start=C1,
        phase="prephase",
        as_of="2026-11-12",
        course={"prephase_start": "2026-11-12"},
    )
    definition = shipped_definition()
    alerts = [
        a
        for a in evaluate_monitoring(facts, definition, Policy(definition))
        if a.rule_id == "BLIN-01"
    ]
    assert [a.id for a in alerts] == ["blinatumomab_c1d1_before_prephase_complete"]
    alert = alerts[0]
    assert alert.severity.value == "critical" and alert.at is None  # raised now, not at a result
    assert alert.inputs == {
        "prephase_start": "2026-11-12",
        "cycle_start": "2026-11-16",
        "earliest_cycle_start": "2026-11-19",
    }
    assert "before the infusion" in alert.message
    tasks = plan(facts)
    for rule, slot in (
        ("BLIN-04", "civi"),
        ("BLIN-02", "inpatient_c1"),
        ("BLIN-03", "premed_start"),
    ):
        task = one(tasks, rule, slot)
        assert task.due_date == C1 and "BLIN-01" in task.detail["waits_on"], slot
        assert "waits on the clinician's decision" in task.title
    # No routine "not before P8" check dated after the infusion.
    assert not of_rule(tasks, "BLIN-01", "prephase_end")


def test_blin_01_a_full_week_of_prephase_raises_nothing_and_waits_on_nothing() -> None:
    # rule: BLIN-01 — C1_D1 = P8 exactly.
    facts = make_facts(
        regimen="blinatumomab",
        start=C1,
        phase="prephase",
        as_of="2026-11-09",
        course={"prephase_start": "2026-11-09"},
    )
    definition = shipped_definition()
    assert not [
        a
        for a in evaluate_monitoring(facts, definition, Policy(definition))
        if a.rule_id == "BLIN-01"
    ]
    tasks = plan(facts)
    assert "waits_on" not in one(tasks, "BLIN-04", "civi").detail
    assert one(tasks, "BLIN-01", "prephase_end").due_date == C1
