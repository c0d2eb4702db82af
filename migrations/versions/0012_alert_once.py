"""An alert is raised once per patient, alert id and inputs: clinical_alert gets a fingerprint.

``fingerprint`` hashes the alert id with the inputs that triggered it
(``pathways.alert_identity``); before raising an alert the evaluator reads the
last one of that id for the patient (``ix_clinical_alert_identity``) and
raises it again only when the fingerprint differs or the alert's repeat
interval has passed. Existing alerts get their fingerprint from their stored
inputs, computed here exactly as the engine computes it (blake2b-128 of the
canonical JSON ``{"alert": code, "inputs": inputs}``), so an unchanged
condition is not raised once more after the upgrade.

Revision ID: 0012_alert_once
Revises: 0011_lab_units
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_alert_once"
down_revision: str | None = "0011_lab_units"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def _fingerprint(code: str, inputs: object) -> str:
    # Frozen copy of pathways.alert_identity.fingerprint_of for stored (already plain JSON) inputs.
    text = json.dumps(
        {"alert": code, "inputs": inputs}, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def upgrade() -> None:
    op.add_column("clinical_alert", sa.Column("fingerprint", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_clinical_alert_identity", "clinical_alert", ["patient_id", "code", "raised_at"]
    )
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, code, inputs FROM clinical_alert WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        conn.execute(
            sa.text("UPDATE clinical_alert SET fingerprint = :fp WHERE id = :id"),
            [{"id": r.id, "fp": _fingerprint(r.code, r.inputs or {})} for r in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_clinical_alert_identity", table_name="clinical_alert")
    op.drop_column("clinical_alert", "fingerprint")
