"""Nelarabine (RULES.md §5.5) with MON-17/18: days 1, 3, 5 of 21-day cycles."""

from __future__ import annotations

from datetime import date

from pathways.vocab import ResponseCategory, TaskKind
from tests.pathways.test_schedule_helpers import days_of, make_facts, of_rule, one, plan, plus

C1 = date(2026, 11, 16)


def nel(cycle: int = 1, as_of: date = C1, **kw: object) -> list:
    kw.setdefault("disease.lineage", "T")
    return plan(make_facts(regimen="nelarabine", cycle=cycle, start=C1, as_of=str(as_of), **kw))


def test_nel_01_1500_mg_m2_on_days_1_3_5() -> None:
    # rule: NEL-01 — >=16 years; next cycle on day 22 [DER].
    doses = [t for t in of_rule(nel(), "NEL-01") if t.kind is TaskKind.DOSE]
    assert [(t.day, t.due_date) for t in doses] == [(1, C1), (3, plus(C1, 2)), (5, plus(C1, 4))]
    assert all(
        t.dose is not None and t.dose.value == 1500 and t.dose.unit == "mg/m2" for t in doses
    )


def test_nel_01_the_next_cycle_day_1_is_day_22_and_the_marrow_overlap_is_surfaced() -> None:
    # rule: NEL-01, NEL-08 — next C_D1 = C_D1 + 21; the D21-D28 marrow reaches it.
    tasks = nel()
    nxt = one(tasks, "NEL-01", "next_cycle")
    assert nxt.kind is TaskKind.CLINICIAN_REVIEW and nxt.day == 22
    assert nxt.due_date == plus(C1, 21) == date(2026, 12, 7)
    assert nxt.detail["next_cycle_day_1"] == "2026-12-07"
    assert "cycle 2 day 1 due 2026-12-07" in nxt.title
    overlap = {
        "next_cycle": 2,
        "next_cycle_day_1": "2026-12-07",
        "window": ["2026-12-06", "2026-12-13"],
        "overlapping_days": ["2026-12-07", "2026-12-13"],
    }
    assert nxt.detail["next_cycle_overlap"] == overlap
    marrow = one(tasks, "NEL-08")
    assert marrow.detail["next_cycle_overlap"] == overlap
    assert "reaches cycle 2 day 1 (2026-12-07)" in marrow.title
    # A recorded cycle length moves the anchor (and here ends the overlap).
    longer = nel(course={"cycle_length_days": 28})
    assert one(longer, "NEL-01", "next_cycle").due_date == plus(C1, 28)
    assert "next_cycle_overlap" not in one(longer, "NEL-08").detail
    # Under 16 there is no nelarabine dose (NEL-02), so no next cycle either.
    assert not of_rule(nel(**{"patient.birth_date": "2012-01-01"}), "NEL-01")


def test_other_response_windows_before_the_next_cycle_say_nothing() -> None:
    # rule: BLIN-09, INO-08 — D29-D42 before D43; D18-D21 clipped before C2_D1 = D22.
    for regimen, rule in (("blinatumomab", "BLIN-09"), ("inotuzumab_ozogamicin", "INO-08")):
        tasks = plan(
            make_facts(regimen=regimen, start=C1, as_of=str(C1), **{"disease.cd22": "positive"})
        )
        assert "next_cycle_overlap" not in one(tasks, rule).detail, regimen


def test_nel_02_under_16_no_dose_and_a_clinician_stop() -> None:
    # rule: NEL-02, AMB-15 — no dose in the source under 16: no dose task, a clinician review.
    young = nel(**{"patient.birth_date": "2012-01-01"})
    assert not of_rule(young, "NEL-01")
    stop = one(young, "NEL-02")
    assert stop.kind is TaskKind.CLINICIAN_REVIEW and "AMB-15" in stop.detail["rule_ids"]
    assert one(young, "NEL-03", "neuro_before_dose", day=1).blocks is None


def test_nel_03_mon_17_neuro_exam_before_every_dose_and_daily_to_day_11() -> None:
    # rule: NEL-03, MON-17 — safety tasks; the exam blocks the dose.
    tasks = nel()
    doses = {t.day: t.key for t in of_rule(tasks, "NEL-01")}
    before = of_rule(tasks, "NEL-03", "neuro_before_dose")
    assert [t.day for t in before] == [1, 3, 5]
    assert all(
        t.safety and t.blocks == doses[t.day] and t.kind is TaskKind.NEURO_ASSESSMENT
        for t in before
    )
    assert days_of(tasks, "NEL-03", "neuro_daily") == [6, 7, 8, 9, 10, 11]
    assert days_of(nel(cycle=2), "NEL-03", "neuro_daily") == [6, 7, 8, 9, 10, 11]


def test_nel_05_mon_18_cbc_before_each_cycle_and_weekly() -> None:
    # rule: NEL-05, MON-18
    tasks = nel()
    pre = one(tasks, "NEL-05", "cbc_before_cycle")
    assert (pre.window_start, pre.due_date) == (plus(C1, -3), C1)
    assert days_of(tasks, "NEL-05", "cbc_weekly") == [8, 15]


def test_nel_08_marrow_days_21_to_28_after_each_cycle_until_cr() -> None:
    # rule: NEL-08, RESP-03
    marrow = one(nel(), "NEL-08")
    assert (marrow.window_start, marrow.window_end) == (plus(C1, 20), plus(C1, 27))
    assert one(nel(cycle=2), "NEL-08")
    assert not of_rule(nel(cycle=2, signed=(ResponseCategory.CR, plus(C1, -2))), "NEL-08")


def test_nel_04_cns_07_it_with_nelarabine_is_a_clinician_decision() -> None:
    # rule: NEL-04, CNS-07, CNS-04 — IT prophylaxis is not auto-planned with nelarabine.
    tasks = nel()
    assert not [t for t in tasks if t.kind is TaskKind.INTRATHECAL_THERAPY]
    decision = one(tasks, "CNS-04")
    assert decision.kind is TaskKind.CLINICIAN_REVIEW
    assert {"NEL-04", "CNS-07"} <= set(decision.detail["rule_ids"])
    lp = one(tasks, "CNS-01")  # the diagnostic LP by IND_D1 + 14 d (QM-01)
    assert lp.window_end == plus(C1, 14)
