"""An alert is raised once per patient, alert id and inputs; again on new inputs or its interval.

rule: REV-04, MON-14, NEL-04, MON-21 — the alerts a rule asks again at each event carry the event.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pathways.alert_identity import (
    REPEAT_SETTING,
    RaisedBefore,
    alert_fingerprint,
    fingerprint_of,
    is_new,
    repeat_after_days,
)
from pathways.casefile import parse_case_text
from pathways.core.json_form import canonical
from pathways.decisions import Alert
from pathways.definition import load_definition, shipped_definition
from pathways.monitoring import evaluate_monitoring
from pathways.policy import Policy
from pathways.vocab import Severity

TZ = "America/New_York"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "cases"
RAISED = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 10:00 in New York


def alert(**inputs: object) -> Alert:
    return Alert(
        "revumenib_strong_cyp3a4_inhibitor", Severity.WARNING, "REV-04", "m", inputs=inputs
    )


def test_the_fingerprint_ignores_order_and_form_but_not_values() -> None:
    a = alert(medications=["posaconazole"], dose={"value": 160.0, "unit": "mg"})
    b = alert(dose={"unit": "mg", "value": 160.0}, medications=("posaconazole",))
    assert alert_fingerprint(a) == alert_fingerprint(b)
    assert alert_fingerprint(a) != alert_fingerprint(alert(medications=["voriconazole"]))
    other_id = Alert("revumenib_dose_basis", Severity.INFO, "REV-03", "m", inputs=a.inputs)
    assert alert_fingerprint(other_id) != alert_fingerprint(a)


def test_the_fingerprint_of_stored_inputs_is_the_engines() -> None:
    # The migration and the evaluator must agree: inputs read back from JSON storage.
    inputs = {
        "at": datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        "day": date(2026, 11, 20),
        "severity": Severity.CRITICAL,
        "sites": frozenset({"b", "a"}),
        "value": 2.5,
    }
    stored = json.loads(json.dumps(canonical(inputs)))
    assert fingerprint_of("x", stored) == fingerprint_of("x", inputs)


def test_an_unchanged_alert_is_not_raised_again_however_often_it_is_evaluated() -> None:
    first = alert(medications=["posaconazole"])
    before = RaisedBefore(alert_fingerprint(first), RAISED)
    for day in range(21, 36):  # fifteen later evaluations, one a day
        later = datetime(2026, 11, 1, 15, 0, tzinfo=UTC).replace(day=day % 30 + 1)
        assert not is_new(first, before, now=later, timezone=TZ, repeat_days=None)
    assert is_new(first, None, now=RAISED, timezone=TZ, repeat_days=None)
    assert is_new(alert(medications=[]), before, now=RAISED, timezone=TZ, repeat_days=None)
    # Stored before the fingerprint existed: treated as different once.
    assert is_new(first, RaisedBefore(None, RAISED), now=RAISED, timezone=TZ, repeat_days=None)


def test_a_repeat_interval_counts_clinic_days() -> None:
    first = alert(medications=["posaconazole"])
    before = RaisedBefore(alert_fingerprint(first), RAISED)
    same_day_late = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)  # 23:00 in New York, same day
    next_day = datetime(2026, 11, 21, 5, 30, tzinfo=UTC)  # 00:30 the next clinic day
    assert not is_new(first, before, now=same_day_late, timezone=TZ, repeat_days=1)
    assert is_new(first, before, now=next_day, timezone=TZ, repeat_days=1)


def test_the_interval_is_written_in_the_definition_for_every_alert_it_raises() -> None:
    # Every alert id the engine raises on the golden cases has its own row in the table.
    definition = shipped_definition()
    table = definition.default(REPEAT_SETTING)
    raised: set[str] = set()
    for path in sorted(GOLDEN.glob("*.json")):
        facts = parse_case_text(path.read_text(encoding="utf-8"))
        raised |= {a.id for a in evaluate_monitoring(facts, definition, Policy(definition))}
    assert raised and raised <= set(table)
    assert definition.defaults[REPEAT_SETTING].is_local_policy
    assert repeat_after_days(alert(), Policy(definition)) is None


def test_an_institution_sets_an_interval_in_its_policy() -> None:
    # CAREPATH_POLICY_FILE overrides the table by name, as any default.
    overrides = {REPEAT_SETTING: {"default": None, "revumenib_strong_cyp3a4_inhibitor": 7}}
    definition = load_definition(overrides=overrides)
    assert repeat_after_days(alert(), Policy(definition)) == 7
    assert definition.defaults[REPEAT_SETTING].overridden


@pytest.mark.parametrize("alert_id", ["nelarabine_neurotoxicity_interaction"])
def test_alerts_asked_again_each_cycle_carry_the_cycle(alert_id: str) -> None:
    # rule: NEL-04 — at each IT/RT booking, one IT per cycle.
    path = GOLDEN / "06-t-cell-nelarabine-cycle-2.json"
    facts = parse_case_text(path.read_text(encoding="utf-8"))
    definition = shipped_definition()
    found = [a for a in evaluate_monitoring(facts, definition, Policy(definition))]
    nel = next(a for a in found if a.id == alert_id)
    assert nel.inputs["cycle"] == 2 and nel.inputs["course"] == "nelarabine"
