"""The worklist as the clinician and the coordinator work it (issue 14, points 1, 6 and 7).

What matters first, alert groups acknowledged from the list, search by name or
MRN, sort, the coordinator's views (escalated from me, missed), bulk actions,
comments, the window in one sentence, the live count and the rule pages.
"""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from carepath.web.wording import status_words, window_sentence
from models.audit import AuditEvent
from models.comment import TaskComment
from models.pathway import ResponseAssessmentRecord
from models.task import CareTask, ClinicalAlert
from pathways.vocab import Role, Severity
from tests.web.support import Web


def audit_count(web: Web, action: str) -> int:
    with web.db() as session:
        return int(
            session.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            ).scalar_one()
        )


def test_the_window_is_one_sentence_and_statuses_are_words_for_people() -> None:
    sentence = window_sentence(date(2026, 11, 27), date(2026, 12, 4), date(2026, 12, 11))
    assert sentence == "due Fri 4 Dec; can be done from Fri 27 Nov; missed after Fri 11 Dec"
    assert window_sentence(date(2026, 12, 4), date(2026, 12, 4), date(2026, 12, 4)) == (
        "due Fri 4 Dec; missed after Fri 4 Dec"
    )
    assert status_words("accepted") == "claimed" and status_words("requested") == "open"


def test_critical_alerts_and_unsigned_responses_come_first_grouped_by_patient_and_rule(
    web: Web,
) -> None:
    # rule: MON-05, RESP-04
    ada, ben = web.patient("Ada First", mrn="MRN-100"), web.patient("Ben Second", mrn="MRN-200")
    for _ in range(15):
        web.alert(ada, severity=Severity.WARNING)
    web.alert(ben, severity=Severity.CRITICAL)
    with web.db() as session:
        session.add(
            ResponseAssessmentRecord(
                patient_id=ben, assessed_on=web.clock.today, recorded_by="coordinator1"
            )
        )
    late = web.task(ada, due_in_days=-1, role=Role.CLINICIAN, title="Late clinician review")
    page = html.unescape(web.client("clinician").get("/queue").text)
    critical = page.index("Critical alerts (1)")
    unsigned = page.index("Responses to sign (1)")
    tasks = page.index(f'data-task="{late}"')
    warnings = page.index("Other alerts awaiting a clinician (1 group, 15 alerts)")
    assert critical < unsigned < tasks < warnings
    assert page.count(f'data-group="{ada}-MON-05"') == 1 and "×15" in page
    assert 'href="/rules/MON-05"' in page and 'title="RULES.md §' in page


def test_a_clinician_acknowledges_a_group_from_the_list_with_a_reason(web: Web) -> None:
    # rule: MON-05
    pid = web.patient("Cora Ack")
    ids = [web.alert(pid, severity=Severity.WARNING) for _ in range(3)]
    client = web.client("clinician")
    form = {"csrf_token": client.csrf, "patient_id": str(pid), "rule_id": "MON-05"}  # type: ignore[attr-defined]
    refused = client.post("/queue/alerts/acknowledge", data=form | {"reason": " "})
    assert refused.status_code == 422 and "a reason is required" in refused.text
    with web.db() as session:
        assert all(session.get(ClinicalAlert, i).acknowledged_at is None for i in ids)  # type: ignore[union-attr]
    done = client.post("/queue/alerts/acknowledge", data=form | {"reason": "Known; LFT weekly"})
    assert done.status_code == 303
    with web.db() as session:
        rows = [session.get(ClinicalAlert, i) for i in ids]
    assert {(a.acknowledged_by, a.acknowledge_reason) for a in rows if a} == {
        ("clinician1", "Known; LFT weekly")
    }
    assert audit_count(web, "acknowledge") == 3
    coordinator = web.client("coordinator")
    assert (
        coordinator.post(
            "/queue/alerts/acknowledge",
            data=form | {"csrf_token": coordinator.csrf, "reason": "x"},  # type: ignore[attr-defined]
        ).status_code
        == 403
    )


def test_every_list_is_searchable_by_name_and_mrn_and_sortable(web: Web) -> None:
    a, b = web.patient("Zoe Search", mrn="MRN-777"), web.patient("Abe Search", mrn="MRN-888")
    ta = web.task(a, due_in_days=0, title="Zoe labs")
    tb = web.task(b, due_in_days=0, title="Abe labs")
    client = web.client("coordinator")
    by_mrn = client.get("/queue?view=today&q=mrn-777").text
    assert f'data-task="{ta}"' in by_mrn and f'data-task="{tb}"' not in by_mrn
    by_name = client.get("/queue?view=today&q=abe").text
    assert f'data-task="{tb}"' in by_name and f'data-task="{ta}"' not in by_name
    assert 'data-count="today">1<' in by_name
    by_patient = client.get("/queue?view=today&sort=patient").text
    assert by_patient.index(f'data-task="{tb}"') < by_patient.index(f'data-task="{ta}"')
    desc = client.get("/queue?view=today&sort=patient&dir=desc").text
    assert desc.index(f'data-task="{ta}"') < desc.index(f'data-task="{tb}"')
    assert "unknown sort order" in client.get("/queue?sort=nonsense").text
    assert "data-task=" not in client.get("/queue?view=today&q=%25").text  # % is no wildcard


def test_the_coordinator_keeps_sight_of_what_escalated_and_what_was_missed(web: Web) -> None:
    pid = web.patient("Eve Escalated")
    up = web.task(
        pid,
        due_in_days=-3,
        role=Role.CLINICIAN,
        title="Book the marrow",
        escalation_level=1,
        escalations=[{"level": 1, "from": "coordinator", "to": "clinician"}],
    )
    missed = web.task(pid, due_in_days=-5, window=1, title="Missed labs")
    client = web.client("coordinator")
    # Nothing overdue or due today: the coordinator lands on what they handed up, not on
    # an empty Overdue tab.
    landing = client.get("/queue").text
    assert 'aria-current="page">Escalated from me' in landing
    assert 'data-count="escalated">1<' in landing and 'data-count="missed">1<' in landing
    escalated = client.get("/queue?view=escalated").text
    assert f'data-task="{up}"' in escalated and "escalated to clinician" in escalated
    assert "Claim" not in escalated.split(f'data-task="{up}"')[1].split("</tr>")[0]
    assert f'data-task="{missed}"' in client.get("/queue?view=missed").text
    overdue = client.get("/queue?view=overdue").text
    assert f'data-task="{missed}"' not in overdue


def test_the_window_views_agree_with_the_task_api_buckets(web: Web) -> None:
    """A task due this morning is overdue, not due today: the views split the window as
    pathways.core.window does, and the page counts what the task API counts."""
    pid = web.patient("Una Window")
    this_morning = web.task(pid, due_in_days=0, title="Due this morning")
    with web.db() as session:
        session.execute(
            text("UPDATE care_task SET due = :due WHERE id = :id"),
            {"due": web.clock() - timedelta(hours=3), "id": this_morning},
        )
    tonight = web.task(pid, due_in_days=0, title="Due tonight")
    missed = web.task(pid, due_in_days=-5, window=1, title="Missed labs")
    client = web.client("coordinator")
    shown = {
        view: client.get(f"/queue?view={view}").text
        for view in ("overdue", "today", "upcoming", "missed")
    }
    assert f'data-task="{this_morning}"' in shown["overdue"]
    assert f'data-task="{this_morning}"' not in shown["today"]
    assert f'data-task="{tonight}"' in shown["today"]
    assert f'data-task="{tonight}"' not in shown["overdue"]
    assert f'data-task="{missed}"' in shown["missed"]
    assert f'data-task="{missed}"' not in shown["overdue"]
    counts = web.api("coordinator").get("/api/v1/tasks").json()["counts"]
    # The API's overdue bucket is past due, missed included (models.task_sql.past_due).
    assert (counts["overdue"], counts["today"], counts["upcoming"]) == (2, 1, 0)
    page = shown["today"]
    assert 'data-count="overdue">1<' in page and 'data-count="missed">1<' in page
    assert 'data-count="today">1<' in page and 'data-count="upcoming">0<' in page


def test_bulk_claim_release_and_reassign_follow_the_take_over_rule(web: Web) -> None:
    pid = web.patient("Finn Bulk")
    one, two, held = (web.task(pid, due_in_days=0, title=f"Bulk {i}") for i in range(3))
    web.user("coordinator", "coordinator2")
    colleague = web.client("coordinator", "coordinator2")
    colleague.post(f"/tasks/{held}/claim", data={"csrf_token": colleague.csrf})  # type: ignore[attr-defined]
    client = web.client("coordinator")
    csrf = client.csrf  # type: ignore[attr-defined]
    refused = client.post(
        "/queue/bulk", data={"csrf_token": csrf, "action": "claim", "task": [one, held]}
    )
    assert refused.status_code == 409 and f"task {held}" in refused.text
    assert "take it over" in refused.text
    with web.db() as session:
        assert session.get(CareTask, one).owner is None  # type: ignore[union-attr]  # nothing half-done
    ok = client.post(
        "/queue/bulk", data={"csrf_token": csrf, "action": "claim", "task": [one, two]}
    )
    assert ok.status_code == 303
    with web.db() as session:
        assert {session.get(CareTask, t).owner for t in (one, two)} == {"coordinator1"}  # type: ignore[union-attr]
    mine = client.get("/queue?view=mine").text
    assert "held by Coordinator 1" in mine and ">claimed<" in mine and ">accepted<" not in mine
    given = client.post(
        "/queue/bulk",
        data={"csrf_token": csrf, "action": "reassign", "to": "coordinator2", "task": [one]},
    )
    assert given.status_code == 303
    back = client.post("/queue/bulk", data={"csrf_token": csrf, "action": "release", "task": [two]})
    assert back.status_code == 303
    with web.db() as session:
        assert session.get(CareTask, one).owner == "coordinator2"  # type: ignore[union-attr]
        assert session.get(CareTask, two).owner is None  # type: ignore[union-attr]
    assert (
        "tick at least one task"
        in client.post("/queue/bulk", data={"csrf_token": csrf, "action": "claim"}).text
    )


def test_comments_are_kept_audited_and_shown_with_the_task(web: Web) -> None:
    pid = web.patient("Gil Comment")
    tid = web.task(pid, due_in_days=0)
    client = web.client("coordinator")
    csrf = client.csrf  # type: ignore[attr-defined]
    empty = client.post(f"/tasks/{tid}/comments", data={"csrf_token": csrf, "body": "  "})
    assert empty.status_code == 422 and "write the comment first" in empty.text
    said = client.post(
        f"/tasks/{tid}/comments", data={"csrf_token": csrf, "body": "Patient asked for Friday"}
    )
    assert said.status_code == 303
    page = html.unescape(client.get(f"/tasks/{tid}").text)
    assert "Patient asked for Friday" in page and "Coordinator 1" in page
    assert audit_count(web, "comment") == 1
    other = web.task(pid, due_in_days=0, role=Role.CLINICIAN)
    assert (
        client.post(f"/tasks/{other}/comments", data={"csrf_token": csrf, "body": "x"}).status_code
        == 403
    )
    # Kept: the app's database role cannot change or remove a comment.
    with pytest.raises(DBAPIError), web.db() as session:
        session.execute(text("UPDATE task_comment SET body = 'changed'"))
    with web.db() as session:
        assert [c.body for c in session.execute(select(TaskComment)).scalars()] == [
            "Patient asked for Friday"
        ]


def test_the_week_shows_the_tasks_of_the_role_and_the_person_by_day(web: Web) -> None:
    pid = web.patient("Hal Week", mrn="MRN-WEEK")
    today = web.task(pid, due_in_days=0, title="Due today labs")
    later = web.task(pid, due_in_days=2, title="Thursday labs")
    other = web.task(pid, due_in_days=1, role=Role.CLINICIAN, title="Not mine")
    page = web.client("coordinator").get("/queue/week").text
    monday = web.clock.today - timedelta(days=web.clock.today.weekday())
    day_of = page.split(f'data-day="{web.clock.today.isoformat()}"')[1].split("</section>")[0]
    assert f'data-task="{today}"' in day_of and "(today)" in day_of
    assert f'data-task="{later}"' in page and f'data-task="{other}"' not in page
    assert f"Week of {monday:%a} {monday.day}" in page
    assert f'data-task="{today}"' not in web.client("coordinator").get("/queue/week?q=nobody").text


def test_live_json_answers_304_until_something_changes_and_keeps_no_session_alive(
    web: Web,
) -> None:
    pid = web.patient("Ivy Live")
    client = web.client("coordinator")
    first = client.get("/queue/live.json")
    assert first.status_code == 200 and first.json()["due"] == 0
    assert first.json()["poll_seconds"] == web.settings.live_poll_seconds
    etag = first.headers["etag"]
    assert client.get("/queue/live.json", headers={"If-None-Match": etag}).status_code == 304
    web.task(pid, due_in_days=0)
    changed = client.get("/queue/live.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["due"] == 1
    assert changed.headers["etag"] != etag
    assert f'data-version="{changed.json()["version"]}"' in client.get("/queue?view=today").text
    # Polling alone does not keep an idle session open.
    web.clock.advance(minutes=20)
    assert client.get("/queue/live.json").status_code == 200
    web.clock.advance(minutes=15)
    assert client.get("/queue/live.json").status_code in (401, 303)


def test_a_rule_id_links_to_the_rule_text(web: Web) -> None:
    # rule: INO-05
    page = html.unescape(web.client("clinician").get("/rules/INO-05").text)
    assert "Rule INO-05" in page and "RULES.md §" in page and "bilirubin" in page.lower()
    assert web.client("clinician").get("/rules/NOPE-99").status_code == 404


def test_the_queue_says_when_results_are_next_evaluated(web: Web) -> None:
    page = web.client("coordinator").get("/queue").text
    # The clock is 14:30 in New York; evaluate_results runs at minute 2, 7, ... 57.
    assert "evaluated on a schedule, every 5 minutes; the next evaluation runs at 14:32" in page
