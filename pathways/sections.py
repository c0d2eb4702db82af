"""Registers the validator of every definition section beyond the core ones.

Each engine module that reads a section of the definition (regimens, workup,
monitoring, indicators...) owns the function that validates it; this module
only wires them into ``pathways.definition.SECTION_VALIDATORS``.
"""

from __future__ import annotations

from pathways.definition import SECTION_VALIDATORS
from pathways.indicators import validate_indicators
from pathways.not_implemented import validate_not_implemented
from pathways.schedules.templates import validate_followup, validate_regimens
from pathways.selection import validate_selection_section
from pathways.workup import validate_workup

SECTION_VALIDATORS.update(
    {
        "followup": validate_followup,
        "indicators": validate_indicators,
        "not_implemented": validate_not_implemented,
        "regimens": validate_regimens,
        "selection": validate_selection_section,
        "workup": validate_workup,
    }
)
