"""Registers the validator of every definition section beyond the core ones.

Each engine module that reads a section of the definition (regimens, workup,
monitoring, indicators...) owns the function that validates it; this module
only wires them into ``pathways.definition.SECTION_VALIDATORS``.
"""

from __future__ import annotations

from pathways.definition import SECTION_VALIDATORS
from pathways.selection import validate_selection_section

SECTION_VALIDATORS.update({"selection": validate_selection_section})
