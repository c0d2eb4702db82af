"""The patient's record (issue 14 points 2-5, 8): header, one sign-and-transition flow,
courses that end, values formatted for people, alert-review tasks, lab results.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from carepath.web.charts import fit_label, phase_strip
from carepath.web.format import count, known, mrd, percent
from models.observation import Observation
from models.pathway import Course, CourseCreate, PathwayInstance, ResponseAssessmentRecord
from models.repositories.audit import Actor
from models.repositories.courses import start_course
from models.task import CareTask, ClinicalAlert
from pathways.vocab import Phase, Role, Severity, TaskKind, TaskStatus
from tests.web.support import PASSWORD, Web, cr_findings

SETUP = Actor("setup", "clinician", "cli")


def in_response_assessment(web: Web, pid: int) -> int:
    """A blinatumomab course started 30 days ago, the patient in response assessment (SM-05)."""
    with web.db() as session:
        course = start_course(
            session,
            patient_id=pid,
            course=CourseCreate(
                regimen="blinatumomab",
                phase="induction",
                anchor_date=web.clock.today - timedelta(days=30),
            ),
            actor=SETUP,
        )
        session.execute(
            update(PathwayInstance)
            .where(PathwayInstance.patient_id == pid)  # type: ignore[arg-type]
            .values(phase=Phase.RESPONSE_ASSESSMENT)
        )
        return int(course.id or 0)


def test_values_are_formatted_for_people() -> None:
    assert percent(None) == "not recorded" and percent(12.0) == "12%"
    assert count(30000.0) == "30,000 /µL"
    assert mrd(5e-05) == "0.005% (5×10⁻⁵)" and mrd(1e-4) == "0.01% (10⁻⁴)"
    assert mrd(None) == "not recorded" and known(None) == "not recorded"


def test_the_phase_strip_labels_are_whole_or_visibly_cut() -> None:
    start = datetime(2026, 1, 1, 14, tzinfo=UTC)
    spans = [
        ("workup", "Workup", start, start + timedelta(days=2)),
        (
            "induction_selection",
            "Induction selection",
            start + timedelta(days=2),
            start + timedelta(days=9),
        ),
        ("post_remission_hct", "Post-remission, allogeneic HCT", start + timedelta(days=9), None),
    ]
    svg = str(phase_strip(spans, now=start + timedelta(days=100), tz="America/New_York"))
    labels = re.findall(r'<text class="ph-label"[^>]*>([^<]*)</text>', svg)
    assert "Post-remission, allogeneic HCT" in labels  # the wide span: its whole title
    assert "Inducti…" in labels  # 7 days of 100: cut, and seen to be cut
    assert all(label in {t for _, t, _, _ in spans} or label.endswith("…") for label in labels)
    assert "<title>Induction selection: 2026-01-03 → 2026-01-10</title>" in svg
    assert fit_label("Post-remission, allogeneic HCT", 120) == "Post-remission…"
    assert fit_label("Workup", 10) == ""  # too narrow for any word


def test_the_header_summarises_and_links_to_the_detail(web: Web) -> None:
    pid = web.patient(cns_status="negative")
    in_response_assessment(web, pid)
    rid = web.assessment(pid, **cr_findings(), mrd_method="flow", mrd_value=5e-05)
    web.task(pid, due_in_days=-3, window=1)  # its window closed yesterday: missed
    web.task(pid, due_in_days=-1, window=3)  # past due, window still open: overdue
    for due in (1, 2, 20):
        web.task(pid, due_in_days=due, window=1)
    for _ in range(6):
        web.task(pid, due_in_days=3, window=1, title="Daily check")
    web.alert(pid)
    web.alert(pid, severity=Severity.WARNING)
    page = web.client("clinician").get(f"/patients/{pid}").text
    header = page[page.index('id="summary"') : page.index("</section>", page.index('id="summary"'))]
    assert "Response assessment" in header and 'href="#timeline"' in header
    assert "blinatumomab</strong> cycle 1, day 31" in header  # the engine's current course
    assert "1 overdue" in header and "1 missed" in header
    assert "1 critical" in header and "1 warning" in header
    assert f'href="#sign-{rid}"' in header and "CR</strong>" in header
    # The sign form sits at the top, before the facts, with the findings in people's words.
    assert page.index(f'id="sign-{rid}"') < page.index('id="facts-h"')
    assert "marrow blasts 2%" in page and "1,500 /µL" in page and "150,000 /µL" in page
    assert "0.005% (5×10⁻⁵)" in page and "unknown%" not in page
    # Tasks grouped; beyond the first five of a group, collapsed.
    assert 'data-group="overdue"' in page and 'data-group="week"' in page
    assert 'id="tasks-later"' in page
    assert "3 more due within 7 days" in page


def test_the_people_a_patient_page_names_are_shown_by_name_not_by_user_name(web: Web) -> None:
    pid = web.patient()
    web.user(Role.COORDINATOR)  # "coordinator1", shown as "Coordinator 1"
    done = web.task(
        pid,
        due_in_days=-1,
        title="Liver tests done",
        status=TaskStatus.COMPLETED,
        completed_at=web.clock() - timedelta(hours=5),
        completed_by="coordinator1",
    )
    web.task(
        pid,
        due_in_days=-1,
        title="Planned by the feed",
        status=TaskStatus.COMPLETED,
        completed_at=web.clock() - timedelta(hours=4),
        completed_by="lab-feed-1",  # no user of that name: shown as it is
    )
    alert = web.alert(pid)
    with web.db() as session:
        session.execute(
            update(ClinicalAlert)
            .where(ClinicalAlert.id == alert)  # type: ignore[arg-type]
            .values(
                acknowledged_at=web.clock(), acknowledged_by="clinician1", acknowledge_reason="ok"
            )
        )
    client = web.client("clinician")  # "clinician1", shown as "Clinician 1"
    page = client.get(f"/patients/{pid}").text
    assert "by Clinician 1" in page and "by clinician1" not in page  # who acknowledged
    assert "by Coordinator 1" in page and "by coordinator1" not in page
    assert "by lab-feed-1" in page
    task = client.get(f"/tasks/{done}").text
    assert "by Coordinator 1" in task and "by coordinator1" not in task


def test_signing_and_the_transition_are_one_flow_on_the_assessment_with_the_findings(
    web: Web,
) -> None:
    # rule: RESP-04, SM-07, POST-06
    pid = web.patient(cns_status="negative")
    course_id = in_response_assessment(web, pid)
    rid = web.assessment(pid, **cr_findings())
    clinician = web.client("clinician")
    page = clinician.get(f"/patients/{pid}").text
    form = page[page.index(f'action="/patients/{pid}/responses/{rid}/sign"') :]
    form = form[: form.index("</form>")]
    category = form[form.index('name="category"') : form.index("</select>")]
    assert '<option value="">choose…</option>' in category and "selected" not in category
    assert (
        'value="remission_without_hct"' in form
        and "Guard: a signed response of CR, CRh, CRi" in form
    )
    data = {
        "csrf_token": clinician.csrf,  # type: ignore[attr-defined]
        "reason": "CR on day 29 marrow; declines HCT",
        "event": "remission_without_hct",
        "attest": "yes",
    }
    # Every problem at once: no category, no password.
    refused = clinician.post(f"/patients/{pid}/responses/{rid}/sign", data=data)
    assert refused.status_code == 422
    assert "choose the category you sign" in refused.text and "password" in refused.text
    done = clinician.post(
        f"/patients/{pid}/responses/{rid}/sign",
        data=data | {"category": "CR", "password": PASSWORD},
    )
    assert done.status_code == 303 and "signed_moved" in done.headers["location"]
    with web.db() as session:
        rows = list(session.execute(select(ResponseAssessmentRecord)).scalars())
        phase = session.execute(
            select(PathwayInstance.phase).where(PathwayInstance.patient_id == pid)  # type: ignore[arg-type]
        ).scalar_one()
        course = session.get(Course, course_id)
    # One row: the one with the findings is signed; no empty row beside it.
    assert [(r.id, r.signed_category, r.marrow_blast_pct) for r in rows] == [(rid, "CR", 2.0)]
    assert phase == Phase.POST_REMISSION_NON_HCT
    assert course is not None and course.status == "completed" and course.ended_at is not None
    after = clinician.get(f"/patients/{pid}").text
    assert 'data-phase="post_remission_non_hct"' in after and "no course in progress" in after


def test_a_guard_the_signature_does_not_meet_refuses_both(web: Web) -> None:
    pid = web.patient(cns_status="negative")
    in_response_assessment(web, pid)
    rid = web.assessment(pid, **cr_findings())
    clinician = web.client("clinician")
    answer = clinician.post(
        f"/patients/{pid}/responses/{rid}/sign",
        data={
            "csrf_token": clinician.csrf,  # type: ignore[attr-defined]
            "category": "CR",
            "reason": "r",
            "event": "record_refractory",
            "attest": "yes",
            "password": PASSWORD,
        },
    )
    assert answer.status_code == 422
    with web.db() as session:
        row = session.get(ResponseAssessmentRecord, rid)
        assert row is not None and row.signed_at is None  # nothing half-written


def test_an_alert_review_task_shows_the_alert_and_its_decision_acknowledges_it(
    web: Web,
) -> None:
    # rule: INO-05, MON-05
    pid = web.patient()
    task_id = web.task(
        pid,
        role=Role.CLINICIAN,
        kind=TaskKind.CLINICIAN_REVIEW,
        result_fields=["decision"],
        rule_id="INO-05",
        title="Review a critical alert (INO-05)",
    )
    alert_id = web.alert(pid)
    with web.db() as session:
        alert = session.get(ClinicalAlert, alert_id)
        assert alert is not None
        alert.task_id = task_id
        alert.rule_id = "INO-05"
        alert.inputs = {
            "results": [
                {
                    "test": "total_bilirubin",
                    "value": 3.2,
                    "unit": "mg/dL",
                    "at": "2026-11-24T09:00:00-05:00",
                    "uln": 1.2,
                    "uln_source": "local",
                    "uln_setting": "lab_reference_uln",
                }
            ]
        }
    clinician = web.client("clinician")
    page = clinician.get(f"/tasks/{task_id}").text
    assert "3.2 mg/dL" in page
    assert "ULN 1.2 mg/dL: the local reference range (lab_reference_uln" in page
    assert 'data-rule="INO-05"' in page and "RULES.md, section" in page
    assert "Awaiting a clinician's decision" in page
    csrf = clinician.csrf  # type: ignore[attr-defined]
    clinician.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf})
    empty = clinician.post(f"/tasks/{task_id}/complete", data={"csrf_token": csrf})
    assert empty.status_code == 422
    done = clinician.post(
        f"/tasks/{task_id}/complete", data={"csrf_token": csrf, "decision": "dose held"}
    )
    assert done.status_code == 303
    with web.db() as session:
        task = session.get(CareTask, task_id)
        acked = session.get(ClinicalAlert, alert_id)
    assert task is not None and task.status == TaskStatus.COMPLETED
    assert acked is not None and acked.acknowledge_reason == "dose held"
    assert "Acknowledged" in clinician.get(f"/tasks/{task_id}").text


def test_the_results_table_flags_against_the_uln_and_the_range_control_filters(
    web: Web,
) -> None:
    # rule: INO-05, MON-05 (ULN from the lab catalogue's local reference range)
    pid = web.patient()
    with web.db() as session:
        for days, code, value, unit in (
            (1, "total_bilirubin", 3.2, "mg/dL"),
            (2, "wbc", 3200.0, "/uL"),
            (60, "hemoglobin", 9.1, "g/dL"),
        ):
            session.add(
                Observation(
                    patient_id=pid,
                    code=code,
                    value=value,
                    unit=unit,
                    observed_at=web.clock() - timedelta(days=days),
                    source="test",
                    recorded_by="setup",
                )
            )
    clinician = web.client("clinician")
    page = clinician.get(f"/patients/{pid}").text
    table = page[
        page.index('class="results"') : page.index("</table>", page.index('class="results"'))
    ]
    assert "Total bilirubin" in table and "3.2" in table and "mg/dL" in table
    assert "<strong>H</strong>" in table and "above ULN 1.2 mg/dL" in table
    assert "3,200" in table and "Hemoglobin" not in table  # 60 days ago: outside 45 days
    assert "White cells (WBC, ANC)" in page and "Hemoglobin" in page
    wide = clinician.get(f"/patients/{pid}?range=90").text
    assert 'data-code="hemoglobin"' in wide and "9.1" in wide
    assert 'href="?range=14#labs"' in wide
