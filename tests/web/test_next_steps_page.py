"""POST-01 on the patient page: the HCT referral shown "after the signed response", not nothing."""

from __future__ import annotations

from datetime import timedelta

from models.pathway import ResponseAssessmentRecord
from models.patient import FitnessAssessment
from tests.web.support import Web
from tests.web.test_clinician import cr_findings


def add(web: Web, row: object) -> None:
    with web.db() as session:
        session.add(row)


def test_an_eligible_patient_with_a_suggested_cr_shows_the_hct_referral_step(web: Web) -> None:
    # rule: POST-01, FIT-06, RESP-07
    pid = web.patient("Quinn Remission", cns_status="negative", testicular_involvement=False)
    add(
        web,
        FitnessAssessment(
            patient_id=pid,
            category="fit",
            hct_eligible="yes",
            assessed_by="x",
            assessed_at=web.clock() - timedelta(days=3),
        ),
    )
    add(
        web,
        ResponseAssessmentRecord(
            patient_id=pid,
            assessed_on=web.clock.today - timedelta(days=1),
            recorded_by="coordinator1",
            **cr_findings(),  # type: ignore[arg-type]
        ),
    )
    page = web.client("clinician").get(f"/patients/{pid}").text
    assert "The engine <strong>suggests CR" in page
    assert 'data-step="allogeneic_hct_referral"' in page
    assert "Allogeneic HCT suggested" in page and "after the signed response" in page
    assert "within 7 days (local policy)" in page


def test_no_step_when_the_patient_is_not_transplant_eligible(web: Web) -> None:
    # rule: POST-01, FIT-08
    pid = web.patient("Rene Remission", cns_status="negative", testicular_involvement=False)
    add(
        web,
        FitnessAssessment(
            patient_id=pid,
            category="fit",
            hct_eligible="no",
            assessed_by="x",
            assessed_at=web.clock() - timedelta(days=3),
        ),
    )
    add(
        web,
        ResponseAssessmentRecord(
            patient_id=pid,
            assessed_on=web.clock.today - timedelta(days=1),
            recorded_by="coordinator1",
            **cr_findings(),  # type: ignore[arg-type]
        ),
    )
    page = web.client("clinician").get(f"/patients/{pid}").text
    assert "The engine <strong>suggests CR" in page
    assert "allogeneic_hct_referral" not in page
