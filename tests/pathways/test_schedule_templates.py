"""The template vocabulary is validated when a definition loads; every problem is reported at once."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathways.definition import DEFINITIONS_DIR, load_definition
from pathways.errors import DefinitionError
from pathways.schedules import compiled_schedules
from pathways.vocab import OptionId
from tests.pathways.test_schedule_helpers import definition

SHIPPED = DEFINITIONS_DIR / "rr-all-adult" / "2026.1"


def load_with(tmp_path: Path, files: dict[str, str]) -> DefinitionError:
    folder = tmp_path / "2026.1"
    shutil.copytree(SHIPPED, folder)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition("rr-all-adult", folder=folder)
    return caught.value


def test_shipped_definition_loads_and_schedules_every_treatment_option() -> None:
    # rule: BLIN-04, INO-06, CART-03, REV-03, NEL-01, CHEMO-04
    compiled = compiled_schedules(definition())
    treatments = set(OptionId) - {
        OptionId.SUPPORTIVE_CARE,
        OptionId.CLINICAL_TRIAL,
        OptionId.ALLOGENEIC_HCT,
        OptionId.DLI,
    }
    assert set(compiled.regimens) == {o.value for o in treatments}
    assert compiled.workup and compiled.followup


def test_every_problem_of_a_bad_regimen_file_is_reported_together(tmp_path: Path) -> None:
    error = load_with(
        tmp_path,
        {
            "regimens-bad.yaml": """
            regimens:
              bad:
                applies_to: [donor_lymphocyte_infusion]
                tasks:
                  - slot: a
                    rule: INO-99
                    kind: dose
                    role: clinician
                    title: "x"
                    day: 1
                  - slot: b
                    rule: INO-05
                    kind: teleport
                    role: clinician
                    title: "y"
                    day: 1
                  - slot: c
                    rule: INO-05
                    kind: lab_panel
                    panel: lft
                    role: clinician
                    title: "z"
                    before_hours: {default: no_such_default}
                    day: 1
                  - slot: d
                    rule: INO-05
                    kind: dose
                    role: clinician
                    title: "w"
                    day: 1
                    when: [moon_is_full]
                  - slot: e
                    rule: INO-05
                    kind: dose
                    role: clinician
                    title: "no window"
                  - slot: f
                    rule: INO-05
                    kind: dose
                    role: clinician
                    title: "backwards"
                    span: [10, 2]
                  - slot: g
                    rule: INO-05
                    kind: dose
                    role: clinician
                    title: "day zero"
                    day: 0
                  - slot: h
                    rule: INO-05
                    kind: lab_panel
                    panel: urine
                    role: nurse
                    title: "{weekday}"
                    day: 1
                    dayz: 3
                  - slot: i
                    rule: INO-05
                    kind: dose
                    role: clinician
                    title: "blocks nothing"
                    day: 1
                    blocks: nothing
            """,
        },
    )
    text = str(error)
    for expected in (
        "unknown rule id 'INO-99'",
        "unknown task kind 'teleport'",
        "unknown default 'no_such_default'",
        "unknown predicate 'moon_is_full'",
        "task has no window",
        "invalid day range 10..2",
        "invalid day 0 for anchor cycle_day",
        "needs a panel of the lab catalogue, got 'urine'",
        "role must be coordinator or clinician",
        "unknown title placeholder {weekday}",
        "blocks unknown slot 'nothing'",
        "unknown key 'dayz'",
    ):
        assert expected in text, expected
    assert len(error.problems) >= 12


def test_two_regimens_cannot_schedule_the_same_option(tmp_path: Path) -> None:
    error = load_with(
        tmp_path,
        {
            "regimens-twin.yaml": """
            regimens:
              twin:
                applies_to: [nelarabine]
                tasks:
                  - {slot: a, rule: NEL-01, kind: dose, role: clinician, title: x, day: 1}
            """,
        },
    )
    assert "option 'nelarabine' already scheduled by" in str(error)


def test_a_regimen_defined_twice_is_refused_by_the_loader(tmp_path: Path) -> None:
    # rule: NEL-01 — a name defined twice across files is an error.
    error = load_with(
        tmp_path,
        {
            "regimens-copy.yaml": (SHIPPED / "regimens-nelarabine.yaml").read_text(),
        },
    )
    assert "regimens.nelarabine already defined" in str(error)


def test_followup_and_workup_problems_are_reported(tmp_path: Path) -> None:
    error = load_with(
        tmp_path,
        {
            "zz-extra.yaml": """
            followup:
              bad_followup:
                rule: POST-01
                kind: transplant_referral
                role: coordinator
                title: x
                anchor: workup
                regimens: [aspirin]
                patient_phases: [dancing]
            workup:
              bad_item:
                rule: WU-02
                kind: workup_item
                role: clinician
                title: y
                anchor: response
                day: 1
                requirement: optional
            """,
        },
    )
    text = str(error)
    for expected in (
        "followup.bad_followup: unknown anchor 'workup'",
        "unknown option id 'aspirin'",
        "unknown phase 'dancing'",
        "workup.bad_item: unknown anchor 'response'",
        "requirement must be one of",
    ):
        assert expected in text, expected


def test_a_dose_literal_must_cover_every_dose_day(tmp_path: Path) -> None:
    error = load_with(
        tmp_path,
        {
            "regimens-dose.yaml": """
            regimens:
              dose_check:
                applies_to: [clinical_trial]
                tasks:
                  - slot: dose
                    rule: INO-06
                    kind: dose
                    role: clinician
                    title: "{dose}"
                    days: [1, 8]
                    dose: {drug: x, unit: mg/m2, by_day: {1: 0.8}}
                  - slot: other
                    rule: INO-06
                    kind: premedication
                    role: clinician
                    title: "{dose}"
                    day: 1
                    dose: {rule: no_such_rule}
            """,
        },
    )
    assert "no amount for day(s) [8]" in str(error)
    assert "unknown dose rule 'no_such_rule'" in str(error)


def test_an_override_that_breaks_a_window_is_refused_when_compiled() -> None:
    # rule: INO-05 — an override of the right type but an impossible value (a negative window).
    custom = load_definition(overrides={"ino_lft_after_dose_days": -1})
    with pytest.raises(DefinitionError, match=r"ino_lft_after_dose_days.*must be >= 0"):
        compiled_schedules(custom)


KEYS = sorted(
    {
        "slot", "rule", "also", "kind", "role", "title", "anchor", "day", "days", "every", "from",
        "after", "to", "count", "through_months", "span", "months", "before_days", "after_days",
        "before_hours", "due", "when", "phases", "patient_phases", "regimens", "safety", "blocks",
        "result_fields", "panel", "dose", "while_on_treatment", "clip_to_cycle", "response_window",
        "requirement", "required_when", "fallback", "note", "show_defaults", "default", "amount", "by_day", "drug", "unit", "first", "later", "tasks", "applies_to",
    }
)  # fmt: skip
ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-50, 120),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.sampled_from(["INO-05", "dose", "lab_panel", "lft", "coordinator", "cycle_day", "day", "x {day}", "{", "first_cycle", "blin_step_up_day", "infusion_day"]),
)  # fmt: skip
JUNK = st.recursive(
    ATOMS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), JUNK, max_size=12), JUNK)
def test_malformed_sections_give_problems_not_crashes(template: dict, anything: object) -> None:
    # rule: WU-01 — the validator reports a malformed definition, it never raises on it.
    from pathways.schedules.compiler import Compiler

    defn = definition()
    values = {name: setting.value for name, setting in defn.defaults.items()}
    compiler = Compiler(rule_ids=frozenset(defn.rules), values=values)
    compiler.named_templates({"t": template}, "followup")
    compiler.named_templates({"t": template}, "workup")
    compiler.regimens({"r": {"tasks": [template]}})
    compiler.regimens({"r": anything})
    compiler.regimens(anything)
    compiler.named_templates(anything, "followup")
    assert all(isinstance(problem, str) for problem in compiler.problems)
