"""Registers the validator of every definition section beyond the core ones.

Each engine module that reads a section of the definition (regimens, workup,
monitoring, indicators...) owns the function that validates it; this module
only wires them into ``pathways.definition.SECTION_VALIDATORS``.
"""

from __future__ import annotations

from pathways.definition import SECTION_VALIDATORS
from pathways.schedules.templates import validate_followup, validate_regimens
from pathways.workup import validate_workup

SECTION_VALIDATORS.update(
    {
        "regimens": validate_regimens,
        "followup": validate_followup,
        "workup": validate_workup,
    }
)
