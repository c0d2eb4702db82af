"""Lab units: an observation keeps the value and unit as entered, and never holds NaN or infinity.

Every door converts a lab value to its test's canonical unit (the lab
catalogue, ``pathways/core/labs.py``); ``entered_value`` and ``entered_unit``
keep what the person or the feed gave. Rows written before this revision have
none (NULL): their value was stored as given, in the unit of ``unit``.

The checks refuse NaN and +/-infinity in the value and the limits of new rows.
They are added ``NOT VALID`` and validated at once when no stored row breaks
them; a row an earlier version let through (the API stored NaN) leaves its
check unvalidated, for a person to correct, rather than failing the upgrade.

Revision ID: 0011_lab_units
Revises: 0010_run_leases
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_lab_units"
down_revision: str | None = "0010_run_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINITE = "{0} IS NULL OR ({0} > '-Infinity'::float8 AND {0} < 'Infinity'::float8)"
COLUMNS = ("value", "entered_value", "uln", "lln")


def upgrade() -> None:
    op.add_column("observation", sa.Column("entered_value", sa.Float(), nullable=True))
    op.add_column("observation", sa.Column("entered_unit", sa.String(length=20), nullable=True))
    for column in COLUMNS:
        name, check = f"ck_observation_{column}_finite", FINITE.format(column)
        op.execute(f"ALTER TABLE observation ADD CONSTRAINT {name} CHECK ({check}) NOT VALID")
        op.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM observation WHERE NOT ({check})) "  # noqa: S608 (constants)
            f"THEN ALTER TABLE observation VALIDATE CONSTRAINT {name}; END IF; END $$"
        )


def downgrade() -> None:
    for column in COLUMNS:
        op.execute(f"ALTER TABLE observation DROP CONSTRAINT ck_observation_{column}_finite")
    op.drop_column("observation", "entered_unit")
    op.drop_column("observation", "entered_value")
