"""POST-01 on the patient page: the HCT referral shown "after the signed response", not nothing."""

from __future__ import annotations

from tests.web.support import Web, cr_findings


def in_remission(web: Web, name: str, *, hct_eligible: str) -> int:
    """A fit patient with an unsigned assessment the engine suggests is a CR."""
    pid = web.patient(name, cns_status="negative", testicular_involvement=False)
    web.fitness(pid, hct_eligible=hct_eligible)
    web.assessment(pid, **cr_findings())
    return pid


def test_an_eligible_patient_with_a_suggested_cr_shows_the_hct_referral_step(web: Web) -> None:
    # rule: POST-01, FIT-06, RESP-07
    pid = in_remission(web, "Quinn Remission", hct_eligible="yes")
    page = web.client("clinician").get(f"/patients/{pid}").text
    assert "The engine <strong>suggests CR" in page
    assert 'data-step="allogeneic_hct_referral"' in page
    assert "Allogeneic HCT suggested" in page and "after the signed response" in page
    assert "within 7 days (local policy)" in page


def test_no_step_when_the_patient_is_not_transplant_eligible(web: Web) -> None:
    # rule: POST-01, FIT-08
    pid = in_remission(web, "Rene Remission", hct_eligible="no")
    page = web.client("clinician").get(f"/patients/{pid}").text
    assert "The engine <strong>suggests CR" in page
    assert "allogeneic_hct_referral" not in page
