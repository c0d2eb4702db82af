"""Every indicator of RULES.md §8 against the hand-built cohort of tests/models/adherence_cohort.py.

The expected figures below were worked out by hand from the cohort's story,
patient by patient (the comments name who is in each class); the code under
test computes none of them.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from models.audit import AuditEvent
from models.ops import AdherenceSnapshot
from models.repositories.adherence import (
    Counts,
    DrillDown,
    compute_report,
    drill_down,
    monthly_reports,
    snapshot_pending,
    snapshots_between,
    store_snapshot,
)
from models.repositories.audit import Actor
from models.task import CareTask
from pathways.definition import load_definition, shipped_definition
from tests.models.adherence_cohort import END, NOW, START, TZ, Cohort, build

QUALITY = Actor("quality1", "quality", "web")

# indicator: (class counts, numerator, denominator) — by hand.
EXPECTED: dict[str, tuple[dict[str, int], int, int]] = {
    # Ana (CNS-01 in window) and Eve (LP at workup) on time; Dev's LP two days after IND_D1+14
    # late; Ben no LP; Cara (symptom relief) out.
    "QM-01": ({"on_time": 2, "late": 1, "missed": 1}, 2, 4),
    # Ana all four before IND_D1; Ben's CD19/CD22 the day after IND_D1; Dev's FISH cancelled
    # with a clinician's reason and the rest in time.
    "QM-02": ({"on_time": 1, "late": 1, "excused": 1}, 1, 2),
    # Dev examined before IND_D1, Ben after.
    "QM-03": ({"on_time": 1, "late": 1}, 1, 2),
    # Ana and Dev (assessment rows with an instrument), Ben (WU-27 result with HCT-CI) on
    # time; Lea's second episode has none (her July assessment is episode 1's).
    "QM-04": ({"on_time": 3, "missed": 1}, 3, 4),
    # Ana in 7 days, Ben after; Gus's referral task cancelled by the planner.
    "QM-05": ({"on_time": 1, "late": 1, "excused": 1}, 1, 2),
    # Ana, Ben, Cara, Gus, Ida, Jo, Max immunotherapy; Ned, Sol, Tia chemotherapy; Finn
    # (trial), Ola (retreatment) and Pia (frail) out.
    "QM-06": ({"on_time": 7, "missed": 3}, 7, 10),
    # Jo's blinatumomab without documented CD19; Finn (trial) out.
    "QM-07": ({"on_time": 6, "missed": 1}, 6, 7),
    # Gus TKI after the mutation result; Hal's result after his TKI start; Ida no TKI.
    "QM-08": ({"on_time": 1, "late": 1, "missed": 1}, 1, 3),
    # Dev nelarabine; Rex chemotherapy.
    "QM-09": ({"on_time": 1, "missed": 1}, 1, 2),
    # Eve revumenib; Sol (multiply relapsed, revumenib-naive) chemotherapy; Tia out.
    "QM-10": ({"on_time": 1, "missed": 1}, 1, 2),
    # Ben's 7-day pre-phase; Gus (marrow 60 percent) none.
    "QM-12": ({"on_time": 1, "missed": 1}, 1, 2),
    # Ana at 23:59 on 3 Nov (last minute, after the DST change) and Jo on time; Ben at the
    # next midnight late; Gus's stay cancelled with a reason; Finn (trial) out.
    "QM-13": ({"on_time": 2, "late": 1, "excused": 1}, 2, 3),
    # Cara day 1 (LFTs 49 h before) met, day 8 (97 h) not; day 15 held, not a dose.
    "QM-14": ({"on_time": 1, "missed": 1}, 1, 2),
    # Cara day 1 observed 65 min, day 8 45 min.
    "QM-15": ({"on_time": 1, "missed": 1}, 1, 2),
    # Dev on the last day of his window; Jo two days after; Eve without MRD; Gus still open;
    # Cara (goal became symptom relief) out; Ana and Max fall in December.
    "QM-17": ({"on_time": 1, "late": 1, "missed": 1, "pending": 1}, 1, 3),
    # Quinn documented; Kai not; Mia's window open to 24 Nov.
    "QM-18": ({"on_time": 1, "missed": 1, "pending": 1}, 1, 2),
    # Mia on time; Kai 30 minutes after his window; Quinn's cancelled (going to HCT).
    "QM-19": ({"on_time": 1, "late": 1, "excused": 1}, 1, 2),
    # Ana and Dev an IT; Eve none; Ben's IT held with a documented reason; Cara out.
    "QM-20a": ({"on_time": 2, "missed": 1, "excused": 1}, 2, 3),
    # Dev's CNS track closed; Lea's first episode ended open; Ben and Lea's second episode
    # still in treatment.
    "QM-20b": ({"on_time": 1, "missed": 1, "pending": 2}, 1, 2),
    "OPT-TEST-04": ({"missed": 1}, 0, 1),
    # Dev: before day 1 in time, day 3 late, day 5 skipped (a lapse by default).
    "OPT-NEL-03": ({"on_time": 1, "late": 1, "missed": 1, "skipped": 1}, 1, 3),
    "OPT-CART-02": ({"on_time": 1}, 1, 1),
    "OPT-MULTI-01": ({"on_time": 1}, 1, 1),
    "OPT-MULTI-05": ({"on_time": 1}, 1, 1),
}


@pytest.fixture
def cohort(session: Session) -> Cohort:
    return build(session)


def units_of(session: Session, indicator_id: str, **kwargs: object) -> DrillDown:
    options = {"definition": shipped_definition(), "timezone": TZ, "start": START, "end": END,
               "now": NOW, "actor": QUALITY} | kwargs  # fmt: skip
    return drill_down(session, indicator_id=indicator_id, **options)  # type: ignore[arg-type]


def report(session: Session, **kwargs: object) -> object:
    options = {"definition": shipped_definition(), "timezone": TZ, "start": START, "end": END,
               "now": NOW} | kwargs  # fmt: skip
    return compute_report(session, **options)  # type: ignore[arg-type]


def test_every_indicator_matches_the_hand_count(session: Session, cohort: Cohort) -> None:
    # rule: QM-01, QM-02, QM-03, QM-04, QM-05, QM-06, QM-07, QM-08, QM-09, QM-10, QM-12,
    # QM-13, QM-14, QM-15, QM-17, QM-18, QM-19, QM-20
    result = report(session)
    seen = {}
    for item in result.results:  # type: ignore[attr-defined]
        if item.counts is None:
            continue
        seen[item.indicator.id] = item.counts
    assert set(seen) == set(EXPECTED)
    for qm, (classes, numerator, denominator) in EXPECTED.items():
        counts = seen[qm]
        assert counts == Counts(**classes), (qm, counts)
        assert (counts.numerator, counts.denominator) == (numerator, denominator), qm
        assert counts.rate == pytest.approx(numerator / denominator), qm


def test_not_computable_indicators_are_listed_without_figures(
    session: Session, cohort: Cohort
) -> None:
    # rule: QM-11, QM-16
    result = report(session)
    for qm in ("QM-11", "QM-16"):
        item = result.result(qm)  # type: ignore[attr-defined]
        assert item.counts is None and item.indicator.reason


def test_the_last_minute_of_a_window_across_dst_is_on_time_and_the_next_instant_late(
    session: Session, cohort: Cohort
) -> None:
    # rule: BLIN-02 (QM-13): C1_D1-C1_D9 = 26 Oct - 3 Nov; DST ended on 1 Nov, so the window
    # closes at 05:00 UTC on 4 Nov, not at 04:00 (nine 24-hour days after 04:00 UTC on 26 Oct).
    drill = units_of(session, "QM-13")
    by_patient = {row.patient_name: row for row in drill.rows}
    assert by_patient["Ana Cohort"].cls == "on_time"
    assert by_patient["Ben Cohort"].cls == "late"
    ana_task = by_patient["Ana Cohort"].tasks[0]
    assert ana_task.completed_at is not None
    assert ana_task.completed_at.isoformat() == "2026-11-04T04:59:00+00:00"
    assert "Gus Cohort" not in by_patient  # excused: not in the denominator
    assert "Finn Cohort" not in by_patient  # trial


def test_a_justified_hold_is_excused_and_shown_with_its_reason(
    session: Session, cohort: Cohort
) -> None:
    drill = units_of(session, "QM-20a", show="excused")
    assert [row.patient_name for row in drill.rows] == ["Ben Cohort"]
    (task,) = drill.rows[0].tasks
    assert task.status == "on-hold" and "IT deferred" in (task.status_reason or "")


def test_a_hold_without_a_reason_is_not_excused(session: Session, cohort: Cohort) -> None:
    session.execute(
        update(CareTask)
        .where(CareTask.patient_id == cohort.ids["Ben"], CareTask.rule_id == "CNS-04")
        .values(status_reason=None)
    )
    counts = report(session).result("QM-20a").counts  # type: ignore[attr-defined]
    assert counts == Counts(on_time=2, missed=2)


def test_a_goal_of_symptom_relief_removes_the_episode_from_marrow_denominators(
    session: Session, cohort: Cohort
) -> None:
    # rule: RESP-02
    drill = units_of(session, "QM-17", show="denominator")
    assert "Cara Cohort" not in {row.patient_name for row in drill.rows}
    # Were her goal still cure, her cancelled marrow would make her excused, not absent.
    from models.patient import Patient

    session.execute(update(Patient).where(Patient.id == cohort.ids["Cara"]).values(goal="cure"))
    counts = report(session).result("QM-17").counts  # type: ignore[attr-defined]
    assert counts.excused == 1 and counts.denominator == 3


def test_skipped_steps_are_a_lapse_unless_the_institution_excuses_them(
    session: Session, cohort: Cohort
) -> None:
    excusing = load_definition(overrides={"adherence_skipped_counts_as": "excused"})
    counts = report(session, definition=excusing).result("OPT-NEL-03").counts  # type: ignore[attr-defined]
    assert counts == Counts(on_time=1, late=1, excused=1, skipped=1)


def test_breakdowns_by_regimen_and_by_month(session: Session, cohort: Cohort) -> None:
    result = report(session)
    qm13 = result.result("QM-13")  # type: ignore[attr-defined]
    assert qm13.by_regimen == {"blinatumomab": Counts(on_time=2, late=1, excused=1)}
    # Jo's stay is due 1 Oct; Ana's and Ben's 26 Oct; Gus's 28 Oct.
    assert qm13.by_month == {"2026-10": Counts(on_time=2, late=1, excused=1)}
    qm06 = result.result("QM-06")  # type: ignore[attr-defined]
    assert qm06.by_regimen["blinatumomab"] == Counts(on_time=4)  # Ana, Ben, Gus, Jo
    assert qm06.by_regimen["chemotherapy_moderate_intensity"] == Counts(missed=2)  # Sol, Tia
    qm20b = result.result("QM-20b")  # type: ignore[attr-defined]
    assert qm20b.by_month == {"2026-11": Counts(on_time=1, missed=1, pending=2)}


def test_units_outside_the_period_are_not_counted(session: Session, cohort: Cohort) -> None:
    # Ana's and Max's response marrows close on 6 Dec and 1 Dec (pending there).
    december = report(session, start=date(2026, 12, 1), end=date(2026, 12, 31))
    assert december.result("QM-17").counts == Counts(pending=2)  # type: ignore[attr-defined]
    assert december.result("QM-13").counts == Counts()  # type: ignore[attr-defined]


def test_a_completion_after_the_report_instant_does_not_count_yet(
    session: Session, cohort: Cohort
) -> None:
    before = report(session, now=datetime.fromisoformat("2026-11-03T12:00:00-05:00"))
    # At noon on 3 Nov, Ana's and Ben's stays are not recorded and their window is open.
    assert before.result("QM-13").counts == Counts(on_time=1, excused=1, pending=2)  # type: ignore[attr-defined]


def test_drill_down_reads_are_audited_per_patient(session: Session, cohort: Cohort) -> None:
    drill = units_of(session, "QM-06", show="missed")
    names = sorted(row.patient_name for row in drill.rows)
    assert names == ["Ned Cohort", "Sol Cohort", "Tia Cohort"]
    assert drill.total == 3
    # One audit row for the page, naming every patient shown (models.repositories.audit).
    (audited,) = session.execute(
        select(AuditEvent.patient_ids, AuditEvent.action, AuditEvent.detail).where(
            AuditEvent.entity == "adherence_drilldown", AuditEvent.actor == "quality1"
        )
    ).all()
    assert sorted(audited.patient_ids) == sorted(cohort.ids[n] for n in ("Ned", "Sol", "Tia"))
    assert audited.action == "read"
    assert audited.detail == {"indicator": "QM-06", "show": "missed"}
    assert all(row.note == "first induction: " + (row.regimen or "none") for row in drill.rows)


def test_drill_down_filters_by_regimen_and_month(session: Session, cohort: Cohort) -> None:
    drill = units_of(session, "QM-06", show="numerator", regimen="blinatumomab", month="2026-10")
    assert sorted(r.patient_name for r in drill.rows) == [
        "Ana Cohort", "Ben Cohort", "Gus Cohort", "Jo Cohort",
    ]  # fmt: skip


def test_a_snapshot_is_frozen_and_a_rerun_replaces_it(session: Session, cohort: Cohort) -> None:
    definition = shipped_definition()
    first = report(session)
    stored = store_snapshot(session, report=first, actor=Actor.system("adherence_report"))  # type: ignore[arg-type]
    assert stored == len(EXPECTED)
    rows = {s.indicator_id: s for s in snapshots_between(session, start=START, end=END)}
    assert (rows["QM-13"].numerator, rows["QM-13"].denominator, rows["QM-13"].excused) == (2, 3, 1)
    assert rows["QM-13"].rule_ids == ["BLIN-02"]
    assert rows["QM-13"].breakdown["by_regimen"]["blinatumomab"]["late"] == 1  # type: ignore[index]
    assert snapshot_pending(session, start=START, end=END) == 4  # QM-17 1, QM-18 1, QM-20b 2
    # An old task edited later does not move the stored figures...
    session.execute(
        update(CareTask)
        .where(CareTask.patient_id == cohort.ids["Ben"], CareTask.rule_id == "BLIN-02")
        .values(completed_at=datetime.fromisoformat("2026-11-03T12:00:00-05:00"))
    )
    again = {s.indicator_id: s for s in snapshots_between(session, start=START, end=END)}
    assert again["QM-13"].numerator == 2
    # ... until the period is computed and stored again, which replaces it whole.
    second = compute_report(
        session, definition=definition, timezone=TZ, start=START, end=END, now=NOW
    )
    store_snapshot(session, report=second, actor=Actor.system("adherence_report"))
    count = session.execute(
        select(func.count())
        .select_from(AdherenceSnapshot)
        .where(
            AdherenceSnapshot.period_start == START  # type: ignore[arg-type]
        )
    ).scalar_one()
    assert count == len(EXPECTED)
    replaced = {s.indicator_id: s for s in snapshots_between(session, start=START, end=END)}
    assert replaced["QM-13"].numerator == 3


def test_monthly_reports_equal_the_report_of_each_month(session: Session, cohort: Cohort) -> None:
    months = [(date(2026, 10, 1), date(2026, 10, 31)), (date(2026, 11, 1), date(2026, 11, 30))]
    split = monthly_reports(
        session, definition=shipped_definition(), timezone=TZ, months=months, now=NOW
    )
    for (first, last), together in zip(months, split, strict=True):
        alone = report(session, start=first, end=last)
        for a, b in zip(together.results, alone.results, strict=True):  # type: ignore[attr-defined]
            assert (a.counts, a.by_regimen, a.by_month) == (b.counts, b.by_regimen, b.by_month)
    assert split[1].result("QM-20b").counts == Counts(on_time=1, missed=1, pending=2)
    with pytest.raises(ValueError, match="not a calendar month"):
        monthly_reports(
            session,
            definition=shipped_definition(),
            timezone=TZ,
            months=[(date(2026, 10, 2), date(2026, 10, 31))],
            now=NOW,
        )


def test_counts_serialise_round_trip() -> None:
    counts = Counts(on_time=3, late=1, early=1, missed=2, excused=4, pending=5, skipped=1)
    assert Counts.from_dict(counts.as_dict()) == counts
    assert counts.as_dict()["denominator"] == 7
    assert asdict(counts)["skipped"] == 1


def test_report_rejects_a_period_that_ends_before_it_starts(session: Session) -> None:
    with pytest.raises(ValueError, match="ends before"):
        report(session, start=END, end=START - timedelta(days=1))


def test_monthly_reports_refuse_a_period_that_only_looks_like_a_month(session: Session) -> None:
    with pytest.raises(ValueError, match="not a calendar month"):
        monthly_reports(
            session,
            definition=shipped_definition(),
            timezone=TZ,
            months=[(date(2026, 10, 1), date(2027, 10, 31))],
            now=NOW,
        )


def test_a_course_recorded_in_its_prephase_counts_its_prephase_and_starts_on_p1(
    session: Session,
) -> None:
    # rule: BLIN-01, IND-11 (QM-12): a course in phase "prephase" without P1 has P1 = C1_D1 - 7
    # [DER], like the engine's anchor; its IND_D1 (QM-06's period date) is that P1.
    from tests.models.adherence_cohort import OCT1, Cohort, d

    one = Cohort(session)
    one.patient("Uma", enrolled=OCT1, cd19="positive", marrow_blast_pct=90)
    one.course("Uma", "blinatumomab", d(11, 2), created=OCT1, phase="prephase")
    result = report(session, indicator_ids=["QM-06", "QM-12"])
    assert result.result("QM-12").counts == Counts(on_time=1)  # type: ignore[attr-defined]
    assert result.result("QM-06").by_month == {"2026-10": Counts(on_time=1)}  # type: ignore[attr-defined]
