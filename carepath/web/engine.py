"""The engine's suggestions, as the pages and the API show them.

The web app never decides: it asks the door (``pathways.engine``) on the patient's current
facts and shows what comes back with its rule ids and the local-policy
defaults it used; a clinician signs. Nothing here is stored or applied.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi.encoders import jsonable_encoder

from pathways import engine
from pathways.definition import Definition
from pathways.engine import NextStep, Policy
from pathways.facts import CaseFacts
from pathways.vocab import Phase

# Phases in which the induction decision (IND, MULTI) is the open question.
SELECTION_PHASES = frozenset({Phase.INDUCTION_SELECTION, Phase.MULTIPLY_RELAPSED})


def response_suggestion(facts: CaseFacts, definition: Definition) -> dict[str, Any] | None:
    """DEF-15's suggested category for the latest assessment in ``facts`` (None: nothing to classify)."""
    policy = Policy(definition)
    suggestion = engine.classify(facts, policy)
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


def induction_advice(facts: CaseFacts, definition: Definition) -> dict[str, Any] | None:
    """The induction options (listed, never ranked or picked: IND-06a), when the decision is open."""
    if facts.phase not in SELECTION_PHASES:
        return None
    policy = Policy(definition)
    advice = engine.advise(facts, definition, policy)
    out: dict[str, Any] = jsonable_encoder(asdict(advice))
    out["defaults_used"] = sorted(policy.used)
    return out


def monitoring_alerts(facts: CaseFacts, definition: Definition) -> list[dict[str, Any]]:
    """The monitoring alerts today's facts support (the flows persist them; this only shows them)."""
    policy = Policy(definition)
    return [jsonable_encoder(asdict(a)) for a in engine.monitor(facts, definition, policy)]


def pending_steps(facts: CaseFacts, definition: Definition) -> list[NextStep]:
    """Steps waiting on the signature of the latest assessment (POST-01: the HCT referral)."""
    return engine.pending_steps(facts, definition, Policy(definition))
