"""Lab results at the web door: the unit picked, the canonical value stored, implausible values refused.

Every rule here comes from the lab catalogue (``labs.yaml``, ``pathways.core.labs``):
the person picks the unit, the value is stored in the canonical unit beside the
value and unit as entered, and a value outside the plausible range is refused
with the field named, the limit and the likely slip, with nothing stored.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from models.observation import Observation
from tests.web.support import TZ, Web
from tests.web.test_patients import error_beside


def post_labs(web: Web, pid: int, client: Any = None, **values: str) -> Any:
    client = client or web.client("coordinator")
    data = {
        "csrf_token": client.csrf,
        "observed_on": web.clock.today.isoformat(),
        "observed_time": "08:15",
        **values,
    }
    return client.post(f"/patients/{pid}/observations", data=data)


def stored(web: Web) -> list[Observation]:
    with web.db() as session:
        return list(session.execute(select(Observation).order_by(Observation.code)).scalars())


def test_each_value_is_stored_in_the_canonical_unit_beside_the_value_and_unit_entered(
    web: Web,
) -> None:
    # rule: INO-05, DEF-03 — bilirubin 54.7 umol/L = 3.2 mg/dL; platelets 45 x10^3/uL = 45,000/uL
    pid = web.patient("Lia Units")
    response = post_labs(
        web,
        pid,
        total_bilirubin="54.7",
        total_bilirubin__unit="umol/L",
        total_bilirubin__uln="20.5",
        platelets="45",
        platelets__unit="10*3/uL",
        anc="0.8",
        anc__unit="10*9/L",
    )
    assert response.status_code == 303, response.text
    rows = {o.code: o for o in stored(web)}
    assert set(rows) == {"anc", "platelets", "total_bilirubin"}
    bili = rows["total_bilirubin"]
    assert bili.unit == "mg/dL" and round(bili.value, 3) == 3.199
    assert (bili.entered_value, bili.entered_unit) == (54.7, "umol/L")
    assert round(bili.uln or 0, 3) == 1.199  # the laboratory's own ULN, converted the same way
    assert (rows["platelets"].value, rows["platelets"].unit) == (45000.0, "/uL")
    assert (rows["platelets"].entered_value, rows["platelets"].entered_unit) == (45.0, "10*3/uL")
    assert rows["anc"].value == 800.0 and rows["anc"].uln is None
    assert all(o.source == "web" for o in rows.values())


def test_a_report_read_in_the_wrong_unit_is_refused_beside_each_field_with_the_likely_slip(
    web: Web,
) -> None:
    # rule: DEF-03, MON-22 — "WBC 3.2, ANC 1.5, platelets 45" as a K/uL report reads, typed as /uL
    pid = web.patient("Max Slip")
    response = post_labs(
        web,
        pid,
        wbc="3.2",
        wbc__unit="/uL",
        anc="1.5",
        anc__unit="/uL",
        platelets="45",
        platelets__unit="/uL",
        alt="80",
        alt__unit="U/L",
    )
    assert response.status_code == 422
    page = response.text
    assert html.unescape(error_beside(page, "platelets")) == (
        "45 /µL is not plausible for platelets (at least 1,000 /µL); did you mean 45 ×10³/µL?"
    )
    assert "did you mean 3.2 ×10³/µL?" in html.unescape(error_beside(page, "wbc"))
    assert "did you mean 1.5 ×10³/µL?" in html.unescape(error_beside(page, "anc"))
    assert stored(web) == []  # the plausible ALT of the same report is not kept either
    # The form comes back as typed, with the units picked.
    assert re.search(r'name="platelets__unit"[^>]*>.*?<option value="/uL" selected', page, re.S)


def test_not_a_number_negative_and_absurd_values_are_refused_in_plain_words(web: Web) -> None:
    # rule: REV-06, INO-05 — NaN, infinity, a negative concentration, 1e308: refused, named
    pid = web.patient("Nia Numbers")
    response = post_labs(
        web,
        pid,
        potassium="-3.1",
        potassium__unit="mmol/L",
        alt="nan",
        alt__unit="U/L",
        ast="inf",
        ast__unit="U/L",
        platelets="1e308",
        platelets__unit="10*3/uL",
        magnesium="1,5",
        magnesium__unit="mmol/L",
    )
    assert response.status_code == 422
    page = html.unescape(response.text)
    assert "cannot be negative" in error_beside(page, "potassium")
    assert error_beside(page, "alt") == "must be a number"
    assert error_beside(page, "ast") == "must be a number"
    assert error_beside(page, "platelets") == (
        "This value is not plausible for platelets (at most 3,000 ×10³/µL)"
    )
    assert "write decimals with a point" in error_beside(page, "magnesium")
    assert "e+" not in " ".join(re.findall(r'class="error"[^>]*>([^<]+)<', page))
    assert stored(web) == []


def test_a_unit_the_catalogue_does_not_know_for_the_test_is_refused(web: Web) -> None:
    # rule: REV-06 — potassium is reported in mmol/L (or mEq/L), never mg/dL
    pid = web.patient("Ola Unit")
    response = post_labs(web, pid, potassium="3.9", potassium__unit="mg/dL")
    assert response.status_code == 422
    assert "is not a unit of potassium (use mmol/L)" in html.unescape(
        error_beside(response.text, "potassium__unit")
    )
    assert stored(web) == []


def test_result_times_in_the_future_or_before_1900_are_refused(web: Web) -> None:
    # rule: INO-05, MON-05 — a result is timed when it was drawn; the clock skew is a [DEFAULT]
    pid = web.patient("Pia Times")
    local = web.clock().astimezone(ZoneInfo(TZ))
    ahead = (local + timedelta(minutes=30)).strftime("%H:%M")
    late = post_labs(web, pid, alt="50", alt__unit="U/L", observed_time=ahead)
    assert late.status_code == 422
    assert "is in the future" in error_beside(late.text, "observed_on")
    old = post_labs(web, pid, alt="50", alt__unit="U/L", observed_on="1899-12-31")
    assert "is before 1900" in error_beside(old.text, "observed_on")
    assert stored(web) == []
    within_skew = (local + timedelta(minutes=5)).strftime("%H:%M")
    assert (
        post_labs(web, pid, alt="50", alt__unit="U/L", observed_time=within_skew).status_code == 303
    )


def test_the_form_offers_each_tests_units_and_names_the_local_reference_range(web: Web) -> None:
    # rule: INO-05 — lab_reference_uln is local policy, shown where a value is entered
    pid = web.patient("Quin Form")
    page = html.unescape(web.client("coordinator").get(f"/patients/{pid}").text)
    assert re.search(
        r'name="platelets__unit"[^>]*>.*?<option value="10\*3/uL" selected', page, re.S
    )
    for label in ("/µL", "×10³/µL", "×10⁹/L", "µmol/L", "µkat/L"):
        assert f">{label}</option>" in page
    assert "local reference up to 1.2 mg/dL (local policy [DEFAULT])" in page
    assert 'name="total_bilirubin__uln"' in page and 'name="platelets__uln"' not in page
    assert "1975-2" in page  # the LOINC code of total bilirubin


def test_at_least_one_value_is_needed(web: Web) -> None:
    pid = web.patient("Rae Empty")
    response = post_labs(web, pid)
    assert response.status_code == 422 and "at least one result" in response.text
    with web.db() as session:
        assert session.execute(select(func.count()).select_from(Observation)).scalar_one() == 0
