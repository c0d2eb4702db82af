"""Lab units: an observation keeps the value and unit as entered, and never holds NaN or infinity.

Every door converts a lab value to its test's canonical unit (the lab
catalogue, ``pathways/core/labs.py``); ``entered_value`` and ``entered_unit``
keep what the person or the feed gave. Rows written before this revision have
none (NULL): their value was stored as given, in the unit of ``unit``.

The checks refuse NaN and +/-infinity in the value and the limits of new rows.
They are added ``NOT VALID``: a row an earlier version let through is left for
a person to correct, not a reason for the upgrade to fail.

Revision ID: 0008_lab_units
Revises: 0005_plan_speed
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_lab_units"
down_revision: str | None = "0005_plan_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINITE = "{0} IS NULL OR ({0} > '-Infinity'::float8 AND {0} < 'Infinity'::float8)"
COLUMNS = ("value", "entered_value", "uln", "lln")


def upgrade() -> None:
    op.add_column("observation", sa.Column("entered_value", sa.Float(), nullable=True))
    op.add_column("observation", sa.Column("entered_unit", sa.String(length=20), nullable=True))
    for column in COLUMNS:
        op.execute(
            f"ALTER TABLE observation ADD CONSTRAINT ck_observation_{column}_finite "
            f"CHECK ({FINITE.format(column)}) NOT VALID"
        )


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_constraint(f"ck_observation_{column}_finite", "observation", type_="check")
    op.drop_column("observation", "entered_unit")
    op.drop_column("observation", "entered_value")
