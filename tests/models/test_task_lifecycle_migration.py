"""0014_task_lifecycle: why a cancelled task was closed moves from detail keys to columns."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from carepath.database import downgrade, upgrade
from models.session import engine_for

PATIENT = sa.text(
    "INSERT INTO patient (id, mrn, display_name, birth_date, declines_therapy, active, "
    "created_at, updated_at) VALUES (1, 'MRN-1', 'X', '1970-01-01', false, true, now(), now())"
)
TASK = sa.text(
    "INSERT INTO care_task (id, patient_id, dedupe_key, pathway_version, kind, rule_id, title, "
    "section, window_start, due_date, window_end, not_before, due, expires, safety, status, "
    "status_reason, role_queue, escalation_level, detail, plan_hash, planned_at, created_at, "
    "updated_at) VALUES (:id, 1, :key, '2026.1', 'lab_panel', 'MON-01', 't', '', '2026-11-02', "
    "'2026-11-02', '2026-11-02', '2026-11-02 05:00Z', '2026-11-03 05:00Z', '2026-11-03 05:00Z', "
    "false, :status, :reason, 'coordinator', 0, CAST(:detail AS jsonb), 'h', now(), now(), "
    "'2026-11-04 12:00Z')"
)
ROWS = [
    (1, "p1:a", "cancelled", "no longer planned", '{"cancelled_by_plan": "2026-11-04", "x": 1}'),
    (2, "dq:p1:b", "cancelled", "resolved", '{"resolved_by_plan": "2026-11-04"}'),
    (3, "p1:c", "cancelled", "declined", '{"closed_as": "skipped", "closed_by": "ann"}'),
    (4, "p1:d", "cancelled", "n/a", '{"closed_as": "cancelled", "closed_by": "bob"}'),
    (5, "p1:e", "cancelled", "by hand", None),
    (6, "p1:f", "requested", None, '{"panel": "cbc"}'),
]


def _closures(url: str) -> list[tuple[object, ...]]:
    with engine_for(url).connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT id, closed_as, closed_by, detail FROM care_task ORDER BY id")
            )
        ]


def test_detail_keys_become_columns_and_come_back_on_downgrade(owner_database_url: str) -> None:
    url = owner_database_url
    downgrade(url, "0013_patient_mrn")  # the revision before 0014_task_lifecycle
    with engine_for(url).begin() as conn:
        conn.execute(PATIENT)
        for tid, key, status, reason, detail in ROWS:
            conn.execute(
                TASK, {"id": tid, "key": key, "status": status, "reason": reason, "detail": detail}
            )
    upgrade(url)
    assert _closures(url) == [
        (1, "unplanned", None, {"x": 1}),
        (2, "resolved", None, None),
        (3, "skipped", "ann", None),
        (4, "cancelled", "bob", None),
        (5, None, None, None),
        (6, None, None, {"panel": "cbc"}),
    ]
    with pytest.raises(IntegrityError), engine_for(url).begin() as conn:
        conn.execute(sa.text("UPDATE care_task SET closed_as = 'skipped' WHERE id = 6"))
    downgrade(url, "0013_patient_mrn")
    with engine_for(url).connect() as conn:
        details = conn.execute(sa.text("SELECT id, detail FROM care_task ORDER BY id")).all()
    assert [tuple(r) for r in details] == [
        (1, {"x": 1, "cancelled_by_plan": "2026-11-04"}),
        (2, {"resolved_by_plan": "2026-11-04"}),
        (3, {"closed_as": "skipped", "closed_by": "ann"}),
        (4, {"closed_as": "cancelled", "closed_by": "bob"}),
        (5, None),
        (6, {"panel": "cbc"}),
    ]
    upgrade(url)
