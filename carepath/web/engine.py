"""The engine's suggestions, as the pages show them.

The web app never decides: it asks ``pathways`` for a suggestion on the
patient's current facts and shows it with its rule ids; a clinician signs.
"""

from __future__ import annotations

from typing import Any

from pathways.definition import Definition
from pathways.facts import CaseFacts
from pathways.policy import Policy


def response_suggestion(facts: CaseFacts, definition: Definition) -> dict[str, Any] | None:
    """DEF-15's suggested category for the latest assessment in ``facts`` (None: nothing to classify)."""
    try:
        from pathways.response import classify_response
    except ImportError:  # the response engine is not installed in this build
        return None
    policy = Policy(definition)
    suggestion = classify_response(facts, policy)
    if suggestion is None:
        return None
    return {
        "category": suggestion.category.value,
        "reasons": list(suggestion.reasons),
        "rule_ids": list(suggestion.rule_ids),
        "labels": list(suggestion.labels),
        "provisional": suggestion.provisional,
        "requires_signature": True,
        "defaults_used": sorted(policy.used),
    }
