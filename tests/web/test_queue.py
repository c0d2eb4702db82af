"""The queue as a coordinator works it: buckets, filters, claim, complete, skip, cancel, hand back, reassign."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select
from sqlmodel import Session

from models.audit import AuditEvent
from models.observation import Observation
from models.pathway import ResponseAssessmentRecord
from models.repositories.audit import Actor
from models.repositories.tasks import TaskConflict, claim_next, claim_task
from models.task import CareTask
from pathways.vocab import Role, TaskKind, TaskStatus
from tests.web.support import Web


def task(web: Web, tid: int) -> CareTask:
    with web.db() as session:
        row = session.get(CareTask, tid)
        assert row is not None
        return row


def test_queue_splits_overdue_today_and_upcoming_with_counts(web: Web) -> None:
    pid = web.patient("Nora Queue")
    late = web.task(pid, due_in_days=-2, title="Late LFT")
    today = web.task(pid, due_in_days=0, title="Today LFT")
    soon = web.task(pid, due_in_days=5, title="Soon LFT")
    web.task(pid, due_in_days=40, title="Far LFT")
    web.task(pid, due_in_days=0, role=Role.CLINICIAN, title="Clinician review")
    client = web.client("coordinator")
    page = client.get("/queue")
    assert page.status_code == 200
    assert 'data-count="overdue">1<' in page.text
    assert 'data-count="today">1<' in page.text
    assert 'data-count="upcoming">1<' in page.text
    assert f'data-task="{late}"' in page.text and f'data-task="{today}"' not in page.text
    assert "Nora Queue" in page.text and "MON-05" in page.text
    assert f'data-task="{today}"' in client.get("/queue?bucket=today").text
    upcoming = client.get("/queue?bucket=upcoming").text
    assert f'data-task="{soon}"' in upcoming and "Far LFT" not in upcoming
    assert "Clinician review" not in client.get("/queue?bucket=today").text
    assert "Clinician review" in web.client("clinician").get("/queue?bucket=today").text


def test_queue_filters_by_kind_patient_and_regimen(web: Web) -> None:
    a, b = web.patient("Anna Filter"), web.patient("Ben Filter")
    web.task(a, due_in_days=0, kind=TaskKind.LAB_PANEL, title="Anna labs")
    web.task(b, due_in_days=0, kind=TaskKind.ECG, title="Ben ECG", regimen="revumenib")
    client = web.client("coordinator")
    by_kind = client.get("/queue?bucket=today&kind=ecg").text
    assert "Ben ECG" in by_kind and "Anna labs" not in by_kind
    assert 'data-count="today">1<' in by_kind
    by_patient = client.get(f"/queue?bucket=today&patient={a}").text
    assert "Anna labs" in by_patient and "Ben ECG" not in by_patient
    by_regimen = client.get("/queue?bucket=today&regimen=revumenib").text
    assert "Ben ECG" in by_regimen and "Anna labs" not in by_regimen
    assert "unknown task kind" in client.get("/queue?kind=nonsense").text


def test_claim_then_complete_with_the_liver_tests_the_task_asks_for(web: Web) -> None:
    pid = web.patient()
    tid = web.task(pid, result_fields=["lft"])
    client = web.client("coordinator")
    csrf = client.csrf  # type: ignore[attr-defined]
    assert client.post(f"/tasks/{tid}/claim", data={"csrf_token": csrf}).status_code == 303
    claimed = task(web, tid)
    assert claimed.status == TaskStatus.ACCEPTED and claimed.owner == "coordinator1"
    page = client.get(f"/tasks/{tid}").text
    for label in ("ALT", "AST", "Total bilirubin", "ALP", "MON-05", "Inotuzumab ozogamicin"):
        assert label in page
    bad = client.post(
        f"/tasks/{tid}/complete",
        data={"csrf_token": csrf, "alt": "55", "ast": "lots", "total_bilirubin": ""},
    )
    assert bad.status_code == 422
    assert "must be a number" in bad.text and "required" in bad.text
    assert task(web, tid).status == TaskStatus.ACCEPTED
    with web.db() as session:
        assert session.execute(select(func.count()).select_from(Observation)).scalar_one() == 0
    good = client.post(
        f"/tasks/{tid}/complete",
        data={
            "csrf_token": csrf,
            "alt": "55",
            "ast": "61",
            "total_bilirubin": "1.1",
            "alp": "90",
            "note": "drawn 08:10",
        },
    )
    assert good.status_code == 303
    done = task(web, tid)
    assert done.status == TaskStatus.COMPLETED and done.completed_by == "coordinator1"
    assert done.result == {
        "alt": 55.0,
        "ast": 61.0,
        "total_bilirubin": 1.1,
        "alp": 90.0,
        "note": "drawn 08:10",
    }
    with web.db() as session:
        rows = {o.code: o for o in session.execute(select(Observation)).scalars()}
        assert set(rows) == {"alt", "ast", "total_bilirubin", "alp"}
        # rule: INO-05 — no ULN was typed: none is stored as if the laboratory gave it; the
        # rules and the chart use the local reference range (lab_reference_uln) and say so.
        assert {code: o.uln for code, o in rows.items()} == dict.fromkeys(rows)
        assert (rows["alt"].unit, rows["alt"].entered_unit, rows["alt"].entered_value) == (
            "U/L",
            "U/L",
            55.0,
        )
        actions = list(
            session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.entity == "care_task")
                .order_by(AuditEvent.id)
            ).scalars()
        )
    assert "claim" in actions and "complete" in actions


def test_completing_a_marrow_task_records_an_unsigned_response_assessment(web: Web) -> None:
    pid = web.patient()
    tid = web.task(
        pid, kind=TaskKind.BONE_MARROW_ASSESSMENT, result_fields=["marrow"], rule_id="RESP-03"
    )
    api = web.api("coordinator")
    assert api.post(f"/api/v1/tasks/{tid}/claim").status_code == 200
    response = api.post(
        f"/api/v1/tasks/{tid}/complete",
        json={"result": {"marrow_blast_pct": 3, "trilineage_hematopoiesis": "yes"}},
    )
    assert response.status_code == 200, response.text
    with web.db() as session:
        row = session.execute(select(ResponseAssessmentRecord)).scalar_one()
    assert row.marrow_blast_pct == 3 and row.trilineage_hematopoiesis is True
    assert row.signed_at is None


def test_skip_needs_a_reason_and_keeps_it(web: Web) -> None:
    pid = web.patient()
    tid = web.task(pid)
    client = web.client("coordinator")
    csrf = client.csrf  # type: ignore[attr-defined]
    refused = client.post(f"/tasks/{tid}/skip", data={"csrf_token": csrf, "reason": "  "})
    assert refused.status_code == 422 and "a reason is required" in refused.text
    assert task(web, tid).status == TaskStatus.REQUESTED
    ok = client.post(
        f"/tasks/{tid}/skip", data={"csrf_token": csrf, "reason": "drawn at the outside lab"}
    )
    assert ok.status_code == 303
    row = task(web, tid)
    assert row.status == TaskStatus.CANCELLED
    assert row.status_reason == "drawn at the outside lab"
    assert (row.closed_as, row.closed_by) == ("skipped", "coordinator1")


def test_a_safety_task_is_cancelled_only_by_a_clinician(web: Web) -> None:
    pid = web.patient()
    tid = web.task(pid, safety=True)
    coordinator = web.client("coordinator")
    refused = coordinator.post(
        f"/tasks/{tid}/cancel",
        data={"csrf_token": coordinator.csrf, "reason": "last LFTs were normal"},  # type: ignore[attr-defined]
    )
    assert refused.status_code == 403
    assert task(web, tid).status == TaskStatus.REQUESTED


def test_hand_back_and_reassign(web: Web) -> None:
    pid = web.patient()
    tid = web.task(pid)
    web.user("coordinator", "coordinator2")
    one = web.client("coordinator")
    csrf = one.csrf  # type: ignore[attr-defined]
    one.post(f"/tasks/{tid}/claim", data={"csrf_token": csrf})
    two = web.client("coordinator", "coordinator2")
    taken = two.post(f"/tasks/{tid}/claim", data={"csrf_token": two.csrf})  # type: ignore[attr-defined]
    assert taken.status_code == 409 and "held by coordinator1; take it over" in taken.text
    assert one.post(f"/tasks/{tid}/release", data={"csrf_token": csrf}).status_code == 303
    released = task(web, tid)
    assert released.owner is None and released.status == TaskStatus.REQUESTED
    web.user("clinician")
    wrong = one.post(f"/tasks/{tid}/reassign", data={"csrf_token": csrf, "to": "clinician1"})
    assert wrong.status_code == 422 and "needs a coordinator" in wrong.text
    ok = one.post(f"/tasks/{tid}/reassign", data={"csrf_token": csrf, "to": "coordinator2"})
    assert ok.status_code == 303
    assert task(web, tid).owner == "coordinator2"


def test_an_expired_lease_lets_someone_else_claim(web: Web) -> None:
    pid = web.patient()
    tid = web.task(pid)
    web.user("coordinator", "coordinator2")
    one = web.client("coordinator")
    one.post(f"/tasks/{tid}/claim", data={"csrf_token": one.csrf})  # type: ignore[attr-defined]
    web.clock.advance(hours=5)
    two = web.client("coordinator", "coordinator2")
    assert two.post(f"/tasks/{tid}/claim", data={"csrf_token": two.csrf}).status_code == 303  # type: ignore[attr-defined]
    assert task(web, tid).owner == "coordinator2"


@pytest.fixture
def wide_engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(
        database_url, pool_size=25, max_overflow=0, connect_args={"options": "-c timezone=UTC"}
    )
    yield engine
    engine.dispose()


def test_twenty_concurrent_claimers_never_get_the_same_task(web: Web, wide_engine) -> None:  # type: ignore[no-untyped-def]
    pid = web.patient()
    ids = {web.task(pid, due_in_days=d % 3) for d in range(30)}
    start = threading.Barrier(20)

    def claimer(n: int) -> int | None:
        actor = Actor(f"coordinator{n}", "coordinator", "api")
        with Session(wide_engine, expire_on_commit=False) as session:
            start.wait()
            row = claim_next(session, role=Role.COORDINATOR, actor=actor, now=web.clock())
            time.sleep(0.05)  # hold the lock while the others look
            session.commit()
            return None if row is None else row.id

    with ThreadPoolExecutor(20) as pool:
        got = list(pool.map(claimer, range(20)))
    claimed = [g for g in got if g is not None]
    assert len(claimed) == 20
    assert len(set(claimed)) == 20
    assert set(claimed) <= ids
    with web.db() as session:
        owners = session.execute(
            select(CareTask.id, CareTask.owner).where(CareTask.owner.is_not(None))  # type: ignore[union-attr]
        ).all()
    assert len(owners) == 20 and len({o for _, o in owners}) == 20


def test_twenty_concurrent_claimers_of_one_task_give_it_to_exactly_one(
    web: Web, wide_engine
) -> None:  # type: ignore[no-untyped-def]
    pid = web.patient()
    tid = web.task(pid)
    start = threading.Barrier(20)

    def claimer(n: int) -> str:
        actor = Actor(f"coordinator{n}", "coordinator", "web")
        with Session(wide_engine, expire_on_commit=False) as session:
            start.wait()
            try:
                claim_task(session, task_id=tid, actor=actor, now=web.clock())
                time.sleep(0.05)
                session.commit()
                return actor.name
            except TaskConflict:
                session.rollback()
                return ""

    with ThreadPoolExecutor(20) as pool:
        winners = [w for w in pool.map(claimer, range(20)) if w]
    assert len(winners) == 1
    assert task(web, tid).owner == winners[0]


def test_bucket_counts_stop_at_the_limit(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    import models.repositories.task_queue as task_queue

    monkeypatch.setattr(task_queue, "COUNT_LIMIT", 3)
    pid = web.patient()
    for _ in range(5):
        web.task(pid, due_in_days=-1)
    web.task(pid, due_in_days=0)
    page = web.client("coordinator").get("/queue").text
    assert 'data-count="overdue">3+<' in page and 'data-count="today">1<' in page
    counts = web.api("coordinator").get("/api/v1/tasks").json()["counts"]
    assert counts["overdue"] == 3 and counts["today"] == 1


def test_a_data_problem_task_says_it_is_not_a_clinical_rule(web: Web) -> None:
    from datetime import timedelta

    from models.repositories.data_problems import DataProblem, raise_data_problems

    pid = web.patient()
    with web.db() as session:
        raise_data_problems(
            session,
            problems=[DataProblem(pid, "snapshot", "disease.cd22: contradictory values")],
            as_of=web.clock.today - timedelta(days=1),
            now=web.clock() - timedelta(days=1),
        )
        tid = session.execute(select(CareTask.id).where(CareTask.rule_id == "data-quality"))
        tid = tid.scalar_one()
    page = web.client("coordinator").get(f"/tasks/{tid}").text
    assert "not a clinical rule" in page and "disease.cd22: contradictory values" in page
    assert "(RULES.md)" not in page
    ordinary = web.client("coordinator").get(f"/tasks/{web.task(pid)}").text
    assert "MON-05</abbr> (RULES.md)" in ordinary and "not a clinical rule" not in ordinary


def test_a_cbc_is_completed_in_the_unit_the_report_gives_and_a_slip_is_refused(web: Web) -> None:
    # rule: DEF-03, MON-22 — the lab catalogue at the task door (web form names and the API)
    pid = web.patient()
    tid = web.task(pid, result_fields=["cbc"], title="CBC before the day 8 dose")
    api = web.api("coordinator", "coordinator1")
    assert api.post(f"/api/v1/tasks/{tid}/claim").status_code == 200
    slip = api.post(
        f"/api/v1/tasks/{tid}/complete",
        json={"result": {"wbc": 3.2, "wbc__unit": "10*3/uL", "anc": 1.5, "platelets": 45}},
    )
    assert slip.status_code == 422
    errors = {e["field"]: e["message"] for e in slip.json()["errors"]}
    assert errors["platelets"] == (
        "45 /µL is not plausible for platelets (at least 1,000 /µL); did you mean 45 ×10³/µL?"
    )
    assert "did you mean 1.5 ×10³/µL?" in errors["anc"]  # a value sent without a unit: /µL
    assert "wbc" not in errors
    with web.db() as session:
        assert session.execute(select(func.count()).select_from(Observation)).scalar_one() == 0
    done = api.post(
        f"/api/v1/tasks/{tid}/complete",
        json={
            "result": {
                "wbc": 3.2,
                "wbc__unit": "10*3/uL",
                "anc": {"value": 1.5, "unit": "10^9/L"},
                "platelets": 45,
                "platelets__unit": "K/uL",
            }
        },
    )
    assert done.status_code == 200, done.text
    with web.db() as session:
        rows = {o.code: o for o in session.execute(select(Observation)).scalars()}
    assert {c: (o.value, o.unit) for c, o in rows.items()} == {
        "wbc": (3200.0, "/uL"),
        "anc": (1500.0, "/uL"),
        "platelets": (45000.0, "/uL"),
    }
    assert (rows["platelets"].entered_value, rows["platelets"].entered_unit) == (45.0, "10*3/uL")
    assert done.json()["result"]["platelets"] == 45000.0
