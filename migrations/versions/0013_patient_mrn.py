"""Patient MRNs are stored normalised (trimmed, upper case) and unique whatever their case.

``mrn-448812`` beside ``MRN-448812`` were two patients. Existing rows are
normalised; the unique index on ``mrn`` becomes one on ``upper(btrim(mrn))``,
so a row written by anything but the intake (which normalises) still cannot
make a second patient of one record number. Rows that would collide once
normalised are not merged or renamed here: the upgrade stops and names their
patient ids (never the MRNs), for a person to correct them.

Revision ID: 0013_patient_mrn
Revises: 0012_alert_once
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_patient_mrn"
down_revision: str | None = "0012_alert_once"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NORMALISED = "upper(btrim(mrn))"


def upgrade() -> None:
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT string_agg(id::text, ', ' ORDER BY id) FROM patient "  # noqa: S608 (a constant)
                f"GROUP BY {NORMALISED} HAVING count(*) > 1 ORDER BY min(id)"
            )
        )
        .scalars()
        .all()
    )
    if clashes:
        groups = "; ".join(f"patients {ids}" for ids in clashes)
        raise RuntimeError(
            "0013_patient_mrn: these patients have the same MRN apart from letter case or "
            f"spaces ({groups}); correct or merge them, then upgrade again"
        )
    op.execute(f"UPDATE patient SET mrn = {NORMALISED} WHERE mrn <> {NORMALISED}")  # noqa: S608
    op.drop_index("ix_patient_mrn", table_name="patient")
    op.create_index("ux_patient_mrn", "patient", [sa.text(NORMALISED)], unique=True)


def downgrade() -> None:
    # The MRNs stay normalised: their typed case is not kept, and a normalised MRN is valid.
    op.drop_index("ux_patient_mrn", table_name="patient")
    op.create_index("ix_patient_mrn", "patient", ["mrn"], unique=True)
