"""The patient's record in a browser (issue 14 points 2, 5, 8): header, labs for people.

A coordinator types results into the lab form; the patient page's header
summarises the patient, the results table flags each value against the ULN
the rules use (the local reference range, [DEFAULT] lab_reference_uln, from
the lab catalogue), the range control changes what the table and charts
show, the charts draw WBC and hemoglobin too with the latest value printed and
every threshold label inside the chart. Screenshots at 1366 and 390 px.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.acceptance.harness import Carepath, User, sign_in
from tests.acceptance.test_liver_safety import open_lab_form, patient_on_inotuzumab

# The first journey of a session also waits for the server (minutes on a busy 2-core machine).
pytestmark = [pytest.mark.acceptance, pytest.mark.browser, pytest.mark.timeout(1500)]


def test_the_header_and_the_labs_read_for_people(
    server: Carepath, coordinator: User, page: Any, shots: Any
) -> None:
    # rule: INO-05, MON-05, DEF-03, DEF-04
    pid = patient_on_inotuzumab(server, coordinator, "Lena Labs")
    sign_in(page, server, coordinator)
    form = open_lab_form(page, server, pid)
    form.locator("[name=total_bilirubin]").fill("3.2")
    form.locator("[name=wbc]").fill("3.2")  # 10^3/uL, the unit offered first
    form.locator("[name=hemoglobin]").fill("9.1")
    form.locator("button:has-text('Record results')").click()
    page.wait_for_load_state()
    assert "Recorded." in page.inner_text("body")

    header = page.locator("#summary")
    assert "inotuzumab ozogamicin cycle 1, day 7" in header.inner_text()
    summary = header.inner_text().lower()  # the labels are set in capitals by the stylesheet
    assert "next due" in summary and "open alerts" in summary

    page.goto(f"{server.url}/patients/{pid}#labs")
    shots(page, "1-labs")
    table = page.locator("table.results")
    bilirubin = table.locator("tr[data-code=total_bilirubin]")
    cells = [c.inner_text() for c in bilirubin.locator("td").all()]
    assert cells[1:4] == ["Total bilirubin", "3.2", "mg/dL"]
    assert cells[4].startswith("H") and "above ULN 1.2 mg/dL" in cells[4]
    assert "lab_reference_uln" in cells[4]  # where the limit came from
    wbc = [c.inner_text() for c in table.locator("tr[data-code=wbc] td").all()]
    assert wbc[2:4] == ["3,200", "/µL"]

    charts = page.locator("svg.chart")
    assert charts.count() == 4
    titles = [c.get_attribute("aria-label") for c in charts.all()]
    assert "White cells (WBC, ANC)" in titles and "Hemoglobin" in titles
    assert "WBC 3,200 (Nov 24)" in charts.nth(1).inner_html()  # the latest value printed
    for chart in charts.all():
        frame = chart.bounding_box()
        for label in chart.locator("text").all():
            box = label.bounding_box()
            assert box is not None and frame is not None
            assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 1, label.inner_html()

    page.click(".range-control a:has-text('last 14 days')")
    page.wait_for_load_state()
    assert "range=14" in page.url
    assert page.locator(".range-control a[aria-current=true]").inner_text() == "last 14 days"
    assert page.locator("table.results tr[data-code=hemoglobin]").count() == 1

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server.url}/patients/{pid}")
    shots(page, "2-phone")
    assert page.locator("#summary").is_visible()
