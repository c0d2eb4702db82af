"""Journey — intake refusals: every bad field at once beside it, a duplicate MRN, an adolescent.

The real `carepath serve`, a real Chromium, the clinic's day ``harness.TODAY``.
The limits are [DEFAULT]s of the definition (pathways/patient_limits.py): a
coordinator who mistypes several fields sees every problem beside its field
and nothing is written; the same MRN typed in another case is refused naming
the patient who has it; an adolescent is enrolled only with the confirmation
and then carries a critical alert (no rule covers adolescents; the alert
cites NEL-01, NEL-02 and AMB-15).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.acceptance.harness import Carepath, User, sign_in
from tests.acceptance.test_intake import INTAKE, add_patient

pytestmark = [pytest.mark.acceptance, pytest.mark.browser]


def error_beside(page: Any, field: str) -> str:
    """The error shown in the same form cell as the field's input (empty when none)."""
    cell = page.locator(f"#f-{field}").locator("xpath=..")
    error = cell.locator(f"#err-{field}")
    if not error.count():
        return ""
    assert page.locator(f"#f-{field}").get_attribute("aria-invalid") == "true"
    assert error.is_visible()
    return str(error.inner_text())


def patients(server: Carepath) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in server.rows("SELECT id, mrn, display_name FROM patient ORDER BY id")]


def test_intake_refuses_bad_fields_a_duplicate_mrn_and_an_unconfirmed_adolescent(
    server: Carepath, coordinator: User, clinician: User, page: Any, shots: Any
) -> None:
    sign_in(page, server, coordinator)

    # Five mistakes in one submit: every one is shown beside its field, nothing is written.
    bad = INTAKE | {
        "display_name": "Ada <b>Intake</b>",
        "birth_date": "2020-05-01",
        "weight_kg": "0.4",
        "height_cm": "16",
        "relapse_dates": "2026-12-24",
    }
    add_patient(page, server, bad)
    shots(page, "1-every-error-beside-its-field")
    assert "Nothing was saved: 5 fields need attention." in page.inner_text("main")
    assert error_beside(page, "display_name") == (
        "must be a name, without markup such as < > or &…; codes"
    )
    assert error_beside(page, "birth_date") == (
        "gives an age of 6: this pathway is for adults (18 years and over) and does not "
        "accept a patient under 12"
    )
    assert error_beside(page, "weight_kg") == (
        "0.4 kg is not plausible for an adult: it must be between 20 and 300 kg "
        "(is it in kilograms?)"
    )
    assert error_beside(page, "height_cm") == (
        "16 cm is not plausible for an adult: it must be between 100 and 250 cm "
        "(is it in centimetres?)"
    )
    assert error_beside(page, "relapse_dates") == "is in the future (after 2026-11-24)"
    assert error_beside(page, "mrn") == "" and error_beside(page, "lineage") == ""
    assert page.locator("#f-weight_kg").input_value() == "0.4"  # what was typed stays
    assert patients(server) == []

    # Corrected, the patient is added; the MRN is stored upper case.
    add_patient(page, server, INTAKE | {"mrn": "acc-0001"})
    assert "/patients/" in page.url, page.inner_text("main")
    [(pid, mrn, name)] = patients(server)
    assert (mrn, name) == ("ACC-0001", "Ada Intake")

    # Another case, the same MRN typed otherwise: refused, naming who has it.
    other = INTAKE | {"mrn": " Acc-0001 ", "display_name": "Bea Other", "birth_date": "1971-01-01"}
    add_patient(page, server, other)
    shots(page, "2-duplicate-mrn")
    assert error_beside(page, "mrn") == (
        f"already belongs to Ada Intake (patient {pid}): open that record instead of adding "
        "the patient again"
    )
    assert len(patients(server)) == 1

    # An adolescent: refused without the confirmation, enrolled with it, alert raised.
    teen = INTAKE | {"mrn": "ACC-0002", "display_name": "Cai Young", "birth_date": "2011-03-01"}
    add_patient(page, server, teen)
    assert error_beside(page, "adolescent_confirmed").startswith("the patient is 15, under 18")
    page.check("#f-adolescent_confirmed")
    page.click("button:has-text('Add patient')")
    page.wait_for_load_state()
    shots(page, "3-adolescent-enrolled")
    assert "/patients/" in page.url, page.inner_text("main")
    alerts = page.locator("#alerts tbody tr.sev-critical")
    assert alerts.count() == 1
    assert "Adolescent in an adult pathway: 15 years old at enrolment" in alerts.inner_text()
    assert "NEL-01" in alerts.inner_text()

    # A clinician sees it among the alerts awaiting a clinician, and acknowledges it.
    page.context.clear_cookies()
    sign_in(page, server, clinician)
    page.goto(f"{server.url}/queue")
    assert "Adolescent in an adult pathway" in page.inner_text("main")
    teen_id = patients(server)[-1][0]
    page.goto(f"{server.url}/patients/{teen_id}")
    page.fill("#alerts input[name=reason]", "discussed with the paediatric team")
    page.click("#alerts button:has-text('Acknowledge')")
    page.wait_for_load_state()
    shots(page, "4-acknowledged")
    acknowledged = server.rows(
        "SELECT acknowledged_by FROM clinical_alert WHERE patient_id = :p", p=teen_id
    )
    assert [r.acknowledged_by for r in acknowledged] == [clinician.username]
