"""0013_patient_mrn: existing MRNs normalised, one unique index on the normalised value."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from carepath.database import downgrade, upgrade
from models.session import engine_for

INSERT = sa.text(
    "INSERT INTO patient (id, mrn, display_name, birth_date, declines_therapy, active, "
    "created_at, updated_at) VALUES (:id, :mrn, 'X', '1970-01-01', false, true, now(), now())"
)


def _before(url: str, rows: list[tuple[int, str]]) -> None:
    downgrade(url, "0012_alert_once")  # the revision before 0013_patient_mrn
    with engine_for(url).begin() as conn:
        for pid, mrn in rows:
            conn.execute(INSERT, {"id": pid, "mrn": mrn})


def test_existing_mrns_are_normalised_and_unique_whatever_their_case(
    owner_database_url: str,
) -> None:
    _before(owner_database_url, [(1, "mrn-448812"), (2, " ab.7 "), (3, "C-1")])
    upgrade(owner_database_url)
    with engine_for(owner_database_url).begin() as conn:
        mrns = conn.execute(sa.text("SELECT id, mrn FROM patient ORDER BY id")).all()
        assert [tuple(r) for r in mrns] == [(1, "MRN-448812"), (2, "AB.7"), (3, "C-1")]
    with pytest.raises(IntegrityError), engine_for(owner_database_url).begin() as conn:
        conn.execute(INSERT, {"id": 4, "mrn": "mrn-448812"})  # written past the intake


def test_mrns_that_collide_once_normalised_stop_the_upgrade_naming_patient_ids(
    owner_database_url: str,
) -> None:
    _before(owner_database_url, [(1, "mrn-448812"), (2, "MRN-448812"), (3, "D-1"), (4, "d-1 ")])
    with pytest.raises(RuntimeError) as refused:
        upgrade(owner_database_url)
    message = str(refused.value)
    assert "patients 1, 2; patients 3, 4" in message and "448812" not in message
    with engine_for(owner_database_url).begin() as conn:
        assert (
            conn.execute(sa.text("SELECT mrn FROM patient WHERE id = 1")).scalar() == "mrn-448812"
        )
