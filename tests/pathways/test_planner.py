"""plan_tasks: the horizon, keys, order, instants on the clinic calendar across DST, defaults."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from pathways.decisions import PlannedTask
from pathways.definition import DEFINITIONS_DIR, load_definition
from pathways.policy import Policy
from pathways.schedules import LOOKAHEAD_DAYS, LOOKBACK_DAYS, compiled_schedules, plan_tasks
from pathways.schedules.tasks import add_months, new_task
from tests.pathways.test_schedule_helpers import (
    definition,
    make_facts,
    of_rule,
    one,
    plan,
    plan_with_policy,
    plus,
)

C1 = date(2026, 11, 16)
SCHEDULE_FILES = sorted((DEFINITIONS_DIR / "rr-all-adult" / "2026.1").glob("regimens-*.yaml")) + [
    DEFINITIONS_DIR / "rr-all-adult" / "2026.1" / name for name in ("followup.yaml", "workup.yaml")
]


def test_tasks_are_clipped_to_the_horizon() -> None:
    # rule: BLIN-04 — CASE-FORMAT: as_of - 14 days .. as_of + 90 days, in the clinic's zone.
    early = {"history.relapse_dates": ["2026-07-01"]}
    for as_of in (plus(C1, -100), plus(C1, -60), C1, plus(C1, 30), plus(C1, 60)):
        tasks = plan(make_facts(regimen="blinatumomab", start=C1, as_of=str(as_of), **early))
        low, high = as_of - timedelta(days=LOOKBACK_DAYS), as_of + timedelta(days=LOOKAHEAD_DAYS)
        assert all(t.window_end >= low and t.window_start <= high for t in tasks)
    far_past = plan(make_facts(regimen="blinatumomab", start=C1, as_of=str(plus(C1, 200))))
    assert not of_rule(far_past, "BLIN-04")
    before = plan(make_facts(regimen="blinatumomab", start=C1, as_of=str(plus(C1, -100)), **early))
    assert not of_rule(before, "BLIN-09")  # day 29 is more than 90 days ahead


def test_a_window_that_ends_in_the_look_back_is_kept() -> None:
    # rule: BLIN-09 — the marrow window C1_D29..D42 is still listed 14 days after it closed.
    marrow_end = plus(C1, 41)
    assert of_rule(
        plan(make_facts(regimen="blinatumomab", start=C1, as_of=str(plus(marrow_end, 14)))),
        "BLIN-09",
    )
    assert not of_rule(
        plan(make_facts(regimen="blinatumomab", start=C1, as_of=str(plus(marrow_end, 15)))),
        "BLIN-09",
    )


def test_keys_are_unique_stable_and_independent_of_as_of() -> None:
    # rule: INO-05 — same facts, same keys; moving as_of keeps the keys of shared tasks.
    early = plan(make_facts(regimen="inotuzumab_ozogamicin", start=C1, as_of=str(plus(C1, -5))))
    again = plan(make_facts(regimen="inotuzumab_ozogamicin", start=C1, as_of=str(plus(C1, -5))))
    later = plan(make_facts(regimen="inotuzumab_ozogamicin", start=C1, as_of=str(plus(C1, 10))))
    assert early == again
    assert len({t.key for t in early}) == len(early)
    shared = {t.key for t in early} & {t.key for t in later}
    assert len(shared) > 20
    by_key = {t.key: t for t in later}
    assert all(by_key[t.key] == t for t in early if t.key in shared)
    assert one(early, "INO-06", day=8).key == "INO-06:inotuzumab_ozogamicin:c1:d8:dose"


def test_tasks_are_sorted_by_due_then_key() -> None:
    # rule: MON-01
    tasks = plan(make_facts(regimen="blinatumomab", start=C1, as_of=str(C1)))
    assert tasks == sorted(tasks, key=lambda t: (t.due, t.key))


def test_every_task_names_its_rule_and_source_section() -> None:
    # rule: CART-04 — section is the rule's citation in the catalogue.
    defn = definition()
    tasks = plan(make_facts(regimen="tisagenlecleucel", start=C1, as_of=str(C1)))
    for task in tasks:
        assert task.section == defn.rule(task.rule_id).citation and task.section
        assert task.rule_id in task.detail["rule_ids"]
        assert task.window_start <= task.due_date <= task.window_end


def test_dst_autumn_berlin_day_8_is_the_8th_calendar_day_at_local_midnight() -> None:
    # rule: INO-06 — Europe/Berlin leaves summer time on 2026-10-25; day 8 is still 2026-10-26.
    start = date(2026, 10, 19)
    facts = make_facts(
        regimen="inotuzumab_ozogamicin",
        start=start,
        as_of="2026-10-19",
        timezone="Europe/Berlin",
        **{"history.relapse_dates": ["2026-10-01"]},
    )
    tasks = plan(facts)
    d1, d8 = one(tasks, "INO-06", day=1), one(tasks, "INO-06", day=8)
    assert d8.due_date == date(2026, 10, 26)
    assert d1.not_before.astimezone(UTC) == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)  # 00:00 CEST
    assert d8.not_before.astimezone(UTC) == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # 00:00 CET
    local = d8.not_before.astimezone(d8.not_before.tzinfo)
    assert (local.hour, local.minute, local.date()) == (0, 0, date(2026, 10, 26))
    lft = one(tasks, "INO-05", "lft_before_dose", day=8)
    assert lft.window_start == date(2026, 10, 23)  # the window still counts calendar days


def test_dst_autumn_new_york_day_8_and_the_25_hour_day() -> None:
    # rule: BLIN-05, MON-01 — America/New_York leaves DST on 2026-11-01 (day 6 of a 10-27 cycle).
    start = date(2026, 10, 27)
    tasks = plan(
        make_facts(
            regimen="blinatumomab",
            start=start,
            as_of="2026-10-27",
            **{"history.relapse_dates": ["2026-10-01"]},
        )
    )
    step = one(tasks, "BLIN-05")
    assert step.due_date == date(2026, 11, 3)
    assert step.not_before.astimezone(UTC) == datetime(2026, 11, 3, 5, 0, tzinfo=UTC)
    day6 = one(tasks, "MON-01", day=6)
    assert day6.due_date == date(2026, 11, 1)
    # instants: same-zone aware datetimes subtract as wall clocks in Python, so compare in UTC
    assert day6.expires.astimezone(UTC) - day6.not_before.astimezone(UTC) == timedelta(hours=25)
    assert one(tasks, "MON-01", day=1).not_before.astimezone(UTC) == datetime(
        2026, 10, 27, 4, 0, tzinfo=UTC
    )


def test_dst_spring_new_york_23_hour_day() -> None:
    # rule: CART-04 — 2027-03-14 has 23 hours; the daily CRS/ICANS task still spans it.
    tasks = plan(
        make_facts(regimen="brexucabtagene_autoleucel", start="2027-03-10", as_of="2027-03-10")
    )
    day4 = one(tasks, "CART-04", "crs_icans_daily", day=4)
    assert day4.due_date == date(2027, 3, 14)
    assert day4.expires.astimezone(UTC) - day4.not_before.astimezone(UTC) == timedelta(hours=23)


def test_fast_task_builder_equals_the_constructor() -> None:
    # rule: INO-06 — the planner's builder makes the same PlannedTask as PlannedTask(...).
    task = one(
        plan(make_facts(regimen="inotuzumab_ozogamicin", start=C1, as_of=str(C1))), "INO-06", day=1
    )
    values = [getattr(task, f.name) for f in dataclasses.fields(PlannedTask)]
    assert new_task(*values) == PlannedTask(*values) == task
    assert hash(new_task(*values).key) == hash(task.key)


def test_policy_records_every_default_that_shaped_the_plan() -> None:
    # rule: INO-05 — RULES.md §10 rule 4: every default is visible and auditable.
    tasks, policy = plan_with_policy(
        make_facts(regimen="inotuzumab_ozogamicin", start=C1, as_of=str(C1))
    )
    used = set().union(*(t.defaults_used for t in tasks))
    assert used <= policy.used
    assert {"ino_lft_before_dose_hours", "bsa_formula"} <= policy.used
    assert all(name in definition().defaults for name in policy.used)


def test_an_institution_override_changes_the_schedule_without_code() -> None:
    # rule: INO-05, MON-05 — a 48 h LFT window instead of 72 h (policy override).
    custom = load_definition(overrides={"ino_lft_before_dose_hours": 48})
    facts = make_facts(regimen="inotuzumab_ozogamicin", start=C1, as_of=str(C1))
    lft = one(plan_tasks(facts, custom, Policy(custom)), "INO-05", "lft_before_dose", day=8)
    assert (lft.due_date - lft.window_start).days == 2 and lft.detail["max_hours_before"] == 48
    assert compiled_schedules(custom) is not compiled_schedules(definition())
    assert compiled_schedules(custom) is compiled_schedules(custom)


def test_default_cadences_are_named_and_overridable() -> None:
    # rule: MON-26, REV-06, MON-13 — "daily", "weekly" and "monthly" are [DEFAULT]
    # values of RULES.md: an institution changes them by name, without code.
    custom = load_definition(
        overrides={"tls_labs_every_days": 2, "rev_ecg_every_days": 14, "rev_ecg_weekly_count": 2}
    )
    burden = make_facts(
        regimen="blinatumomab", start=C1, as_of=str(C1), **{"disease.marrow_blast_pct": 80.0}
    )
    tls = [t.day for t in plan_tasks(burden, custom, Policy(custom)) if t.rule_id == "MON-26"]
    assert tls == [1, 3, 5, 7]
    rev = make_facts(regimen="revumenib", start=C1, as_of=str(C1))
    ecg = [t.day for t in plan_tasks(rev, custom, Policy(custom)) if t.key.endswith(":ecg_weekly")]
    assert ecg == [8, 22]
    shipped = [
        t.day
        for t in plan_tasks(rev, definition(), Policy(definition()))
        if t.key.endswith(":ecg_weekly")
    ]
    assert shipped == [8, 15, 22, 29]


def test_every_schedule_default_is_used_by_a_template() -> None:
    # rule: WU-01 — no orphan settings in defaults-schedules.yaml.
    shipped = yaml.safe_load(
        (DEFINITIONS_DIR / "rr-all-adult" / "2026.1" / "defaults-schedules.yaml").read_text()
    )
    compiled = compiled_schedules(definition())
    referenced: set[str] = set()
    templates = [*compiled.followup, *compiled.workup]
    for regimen in compiled.regimens.values():
        templates.extend(regimen.tasks)
        referenced.update(regimen.first_length_defaults, regimen.later_length_defaults)
    for template in templates:
        referenced.update(template.defaults_used)
    read_by_code = {
        "workup_due_days_without_ind_d1",  # pathways.workup
        "blin_weight_band_kg",  # pathways.schedules.doses
        "blin_dose_start_mcg_day",
        "blin_dose_target_mcg_day",
        "blin_dose_start_mcg_m2_day",
        "blin_dose_target_mcg_m2_day",
    }
    assert set(shipped["defaults"]) - referenced - read_by_code == set()


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    # rule: POST-12 — monthly cadences count calendar months.
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 15), 3) == date(2027, 3, 15)
    assert add_months(date(2026, 11, 30), 14) == date(2028, 1, 30)


def test_schedule_files_are_where_the_loader_reads_them() -> None:
    # rule: BLIN-04, INO-06, WU-01 — the schedule data ships in the definition folder.
    assert all(Path(p).is_file() for p in SCHEDULE_FILES)


def test_phase_inference_for_case_files_without_a_confirmed_phase() -> None:
    # rule: SM-01, SM-02, SM-03, IND-00, SM-04, SM-05, SM-06, SM-07, SM-08 — a suggestion to plan on, never applied.
    from pathways.schedules import infer_phase
    from pathways.vocab import Phase, ResponseCategory

    # SM-02 -> SM-03: the base facts carry everything IND-00 needs; without KMT2A, still workup.
    assert infer_phase(make_facts()) is Phase.INDUCTION_SELECTION
    assert infer_phase(make_facts(**{"disease.kmt2a_rearranged": None})) is Phase.WORKUP
    assert infer_phase(make_facts(regimen="blinatumomab", start=C1)) is Phase.INDUCTION  # SM-04
    ended = {"last_dose_date": "2026-11-20"}
    assert (
        infer_phase(make_facts(regimen="blinatumomab", start=C1, as_of="2026-12-01", course=ended))
        is Phase.RESPONSE_ASSESSMENT  # SM-05
    )
    signed = (ResponseCategory.CR, date(2026, 11, 20))
    assert (
        infer_phase(make_facts(signed=signed, **{"fitness.hct_eligible": "yes"}))
        is Phase.POST_REMISSION_HCT
    )
    assert infer_phase(make_facts(signed=signed)) is Phase.POST_REMISSION_NON_HCT  # SM-07
    maintenance = make_facts(
        regimen="blinatumomab", start=C1, phase="maintenance", as_of="2026-12-20", course=ended
    )
    assert infer_phase(maintenance) is Phase.SURVEILLANCE  # SM-08
    confirmed = make_facts(confirmed_phase=Phase.PALLIATIVE)
    assert infer_phase(confirmed) is Phase.PALLIATIVE


def test_palliative_care_plans_a_low_intensity_course_without_marrow() -> None:
    # rule: SM-12, AMB-22, RESP-02 — off pathway but a low-intensity course may be given.
    from pathways.vocab import Phase

    facts = make_facts(
        regimen="chemotherapy_low_intensity",
        start=C1,
        as_of=str(C1),
        goal="symptom_relief",
        confirmed_phase=Phase.PALLIATIVE,
    )
    tasks = plan(facts)
    assert of_rule(tasks, "RESP-02") and not of_rule(tasks, "CHEMO-04")
    assert not [t for t in tasks if t.rule_id.startswith("WU-")]
    assert plan(make_facts(as_of=str(C1), confirmed_phase=Phase.PALLIATIVE)) == []
