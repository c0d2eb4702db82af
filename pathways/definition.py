"""The pathway definition: its values (``pathways.model``) and its loader (``pathways.loader``).

The public name callers load a definition by; engine modules inside
``pathways`` import ``pathways.model`` instead, since the loader imports them.
"""

from __future__ import annotations

from pathways.loader import (
    CATALOGUE_FILE,
    DEFAULT_PATHWAY,
    DEFINITIONS_DIR,
    SECTIONS,
    available_versions,
    load_catalogue,
    load_definition,
    shipped_definition,
)
from pathways.model import DefaultSetting, Definition, RuleInfo, ValidationContext

__all__ = [
    "CATALOGUE_FILE",
    "DEFAULT_PATHWAY",
    "DEFINITIONS_DIR",
    "SECTIONS",
    "DefaultSetting",
    "Definition",
    "RuleInfo",
    "ValidationContext",
    "available_versions",
    "load_catalogue",
    "load_definition",
    "shipped_definition",
]
