"""The adherence dashboard: the same figures as the report, trends from snapshots, audited drill-downs."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from models.audit import AuditEvent
from models.repositories.adherence import compute_report, store_snapshot
from models.repositories.audit import Actor
from models.task import CareTask
from pathways.definition import shipped_definition
from tests.models.adherence_cohort import NOW, TZ, build
from tests.web.support import Web

PERIOD = "from=2026-10-01&to=2026-11-30"


def cohort(web: Web) -> dict[str, int]:
    with web.db() as session:
        ids = build(session).ids
    web.clock.at = NOW
    return ids


def test_dashboard_shows_every_indicator_with_links_to_its_patients(web: Web) -> None:
    # rule: QM-13, QM-06
    cohort(web)
    page = web.client("quality").get(f"/adherence?{PERIOD}")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert "QM-20b" in html and "OPT-MULTI-05" in html and "not computable" in html
    # QM-13: 2 of 3 on time, 1 excused; each number opens its units.
    assert 'href="/adherence/QM-13?show=numerator&amp;from=2026-10-01&amp;to=2026-11-30">2<' in html
    assert (
        'href="/adherence/QM-13?show=denominator&amp;from=2026-10-01&amp;to=2026-11-30">3<' in html
    )
    assert 'href="/adherence/QM-13?show=excused&amp;from=2026-10-01&amp;to=2026-11-30">1<' in html
    assert html.count("<svg") >= 25  # the summary and one trend chart per computable indicator
    assert "Cohort" not in html  # no patient on the dashboard itself


def test_the_drill_down_lists_patients_and_tasks_and_is_audited(web: Web) -> None:
    ids = cohort(web)
    page = web.client("quality").get(f"/adherence/QM-13?show=late&{PERIOD}")
    assert page.status_code == 200
    html = page.text
    assert "Ben Cohort" in html and "Ana Cohort" not in html
    assert f'href="/patients/{ids["Ben"]}"' in html  # quality may open the patient page
    assert "BLIN-02" in html and "inpatient_c1" in html
    with web.db() as session:
        audited = session.execute(
            select(AuditEvent.patient_id, AuditEvent.detail).where(
                AuditEvent.entity == "adherence_drilldown", AuditEvent.actor == "quality1"
            )
        ).all()
    assert [(pid, detail["indicator"]) for pid, detail in audited] == [(ids["Ben"], "QM-13")]


def test_drill_down_for_an_admin_shows_patients_without_links_they_cannot_open(web: Web) -> None:
    ids = cohort(web)
    html = web.client("admin").get(f"/adherence/QM-06?show=missed&{PERIOD}").text
    assert "Ned Cohort" in html and f'href="/patients/{ids["Ned"]}"' not in html


def test_filters_by_regimen_and_month_and_a_not_computable_indicator(web: Web) -> None:
    cohort(web)
    client = web.client("clinician")
    html = client.get(
        f"/adherence/QM-06?show=numerator&regimen=inotuzumab_ozogamicin&{PERIOD}"
    ).text
    assert "Cara Cohort" in html and "Ida Cohort" in html and "Ana Cohort" not in html
    html = client.get(f"/adherence/QM-20b?show=denominator&month=2026-11&{PERIOD}").text
    assert "Dev Cohort" in html and "Lea Cohort" in html
    qm11 = client.get("/adherence/QM-11")
    assert qm11.status_code == 200 and "Not computable." in qm11.text
    assert client.get("/adherence/QM-99").status_code == 404
    bad = client.get("/adherence/QM-13?from=last+week&show=everything")
    # The errors, and no figures of a period nobody asked for (issue 10, journey d).
    assert bad.status_code == 422
    assert "from: must be a date" in bad.text and "show: one of" in bad.text
    assert "No figures" in bad.text and "on time (" not in bad.text
    reversed_ = client.get("/adherence?from=2026-11-01&to=2026-10-01")
    assert reversed_.status_code == 422
    assert "the period ends before it starts" in reversed_.text
    assert "No figures" in reversed_.text and "QM-13" not in reversed_.text


def test_trends_read_stored_snapshots_so_later_edits_do_not_move_them(web: Web) -> None:
    ids = cohort(web)
    october = (NOW.date().replace(month=10, day=1), NOW.date().replace(month=10, day=31))
    with web.db() as session:
        report = compute_report(
            session,
            definition=shipped_definition(),
            timezone=TZ,
            start=october[0],
            end=october[1],
            now=NOW,
        )
        store_snapshot(session, report=report, actor=Actor.system("adherence_report"))
    with web.db() as session:  # Ben's late stay is corrected afterwards
        session.execute(
            update(CareTask)
            .where(CareTask.patient_id == ids["Ben"], CareTask.rule_id == "BLIN-02")
            .values(completed_at=NOW.replace(month=10, day=27))
        )
    html = web.client("quality").get(f"/adherence?{PERIOD}").text
    chart = re.search(r'aria-label="QM-13 by month".*?</svg>', html, re.S)
    assert chart is not None
    # October is frozen at 2 of 3 (filled bar); the table is live: 3 of 3.
    assert "2026-10: 67% (2/3)</title>" in chart.group(0)
    assert 'href="/adherence/QM-13?show=numerator&amp;from=2026-10-01&amp;to=2026-11-30">3<' in html


def test_export_is_the_self_contained_report_as_an_attachment(web: Web) -> None:
    cohort(web)
    response = web.client("clinician").get(f"/adherence/export?format=html&{PERIOD}")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="adherence-2026-10-01-2026-11-30.html"'
    )
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "<style>" in response.text and "Cohort" not in response.text
    as_json = web.client("quality").get(f"/adherence/export?format=json&{PERIOD}").json()
    assert {i["id"] for i in as_json["indicators"]} >= {"QM-01", "QM-20a", "QM-20b"}
    assert web.client("quality").get(f"/adherence/export?format=pdf&{PERIOD}").status_code == 422


def test_quality_lands_on_the_dashboard(web: Web) -> None:
    response = web.client("quality").get("/")
    assert response.status_code == 303 and response.headers["location"] == "/adherence"


def test_the_observation_times_qm15_reads_are_validated_times_of_day(web: Web) -> None:
    # rule: INO-04 (QM-15): observation end >= 60 min after the infusion end, as recorded.
    from models.task import CareTask as Task
    from pathways.vocab import TaskKind

    pid = web.patient()
    tid = web.task(
        pid,
        kind=TaskKind.POST_INFUSION_OBSERVATION,
        rule_id="INO-04",
        result_fields=["infusion_end_at", "observation_end_at"],
    )
    api = web.api("coordinator")
    assert api.post(f"/api/v1/tasks/{tid}/claim").status_code == 200
    refused = api.post(
        f"/api/v1/tasks/{tid}/complete",
        json={"result": {"infusion_end_at": "11 o'clock", "observation_end_at": "12:05"}},
    )
    assert refused.status_code == 422
    assert "infusion_end_at" in refused.text and "HH:MM" in refused.text
    done = api.post(
        f"/api/v1/tasks/{tid}/complete",
        json={"result": {"infusion_end_at": "9:40", "observation_end_at": "10:45"}},
    )
    assert done.status_code == 200, done.text
    with web.db() as session:
        row = session.get(Task, tid)
        assert row is not None and row.result is not None
        assert (row.result["infusion_end_at"], row.result["observation_end_at"]) == (
            "09:40",
            "10:45",
        )
