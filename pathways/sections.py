"""Registers the validator of every definition section beyond the core ones.

Each engine module that reads a section of the definition (regimens, workup,
monitoring, indicators...) owns the function that validates it; this module
only wires them into ``pathways.definition.SECTION_VALIDATORS``.
"""

from __future__ import annotations

from pathways.definition import SECTION_VALIDATORS
from pathways.not_implemented import validate_not_implemented
from pathways.selection import validate_selection_section

SECTION_VALIDATORS.update(
    {
        "not_implemented": validate_not_implemented,
        "selection": validate_selection_section,
    }
)
