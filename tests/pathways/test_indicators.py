"""The adherence indicators of RULES.md §8 are data, validated when the definition loads.

Every QM id of the catalogue is described (QM-20 in two parts), each names its
unit, denominator, numerator, exclusions and window; a measure the tracker
cannot compute says why. A broken indicators file reports every problem at once.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from pathways.definition import DEFINITIONS_DIR, load_catalogue, load_definition
from pathways.errors import DefinitionError
from pathways.indicators import CONDITIONS, indicator, indicators_of

SHIPPED = DEFINITIONS_DIR / "rr-all-adult" / "2026.1"


def shipped() -> dict[str, object]:
    return yaml.safe_load((SHIPPED / "indicators.yaml").read_text(encoding="utf-8"))


def load_with_indicators(tmp_path: Path, text: str) -> DefinitionError:
    folder = tmp_path / "2026.1"
    shutil.copytree(SHIPPED, folder)
    (folder / "indicators.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition("rr-all-adult", folder=folder)
    return caught.value


def test_every_qm_of_rules_md_is_an_indicator() -> None:
    # rule: QM-01, QM-02, QM-03, QM-04, QM-05, QM-06, QM-07, QM-08, QM-09, QM-10,
    # QM-11, QM-12, QM-13, QM-14, QM-15, QM-16, QM-17, QM-18, QM-19, QM-20
    definition = load_definition()
    found = {i.measure or i.id for i in indicators_of(definition)}
    catalogued = {r for r in load_catalogue() if r.startswith("QM-")}
    assert catalogued <= found
    assert [i.id for i in indicators_of(definition) if i.measure == "QM-20"] == ["QM-20a", "QM-20b"]
    optional = [i.id for i in indicators_of(definition) if i.optional]
    assert optional == ["OPT-TEST-04", "OPT-NEL-03", "OPT-CART-02", "OPT-MULTI-01", "OPT-MULTI-05"]


def test_each_indicator_names_unit_denominator_numerator_window_and_rules() -> None:
    for item in indicators_of(load_definition()):
        assert item.title and item.rule_ids, item.id
        assert item.unit in ("task", "episode", "course", "dose"), item.id
        assert item.denominator.text and item.numerator.text and item.window.text, item.id
        if item.computable:
            assert item.numerator.kind is not None, item.id
        else:
            assert item.reason and item.numerator.kind is None, item.id
        # SM-13 trial patients are excluded unless stated (RULES.md §8 conventions).
        assert "clinical_trial" in item.exclusions, item.id


def test_not_computable_measures_say_what_is_not_recorded() -> None:
    definition = load_definition()
    missing = {i.id: i.reason for i in indicators_of(definition) if not i.computable}
    assert set(missing) == {"QM-11", "QM-16"}
    assert "not recorded" in (missing["QM-11"] or "")
    assert "AMB-03" in (missing["QM-16"] or "")


def test_default_windows_of_section_8_are_named_defaults() -> None:
    # rule: QM-01, QM-05, QM-13, QM-14, QM-18, QM-19 carry DEFAULT windows in §8.
    definition = load_definition()
    expected = {
        "QM-01": "diagnostic_lp_days_after_ind_d1_without_it",
        "QM-05": "fit06_referral_within_days",
        "QM-13": "blin_inpatient_cycle1_days",
        "QM-14": "ino_lft_before_dose_hours",
        "QM-18": "post_hct_decision_escalation_days",
        "QM-19": "blin_maintenance_window_days",
    }
    for qm, name in expected.items():
        assert name in indicator(definition, qm).defaults, qm
        assert definition.defaults[name].tag == "DEFAULT", name
    assert indicator(definition, "QM-12").defaults == (
        "prephase_marrow_blast_pct_above",
        "prephase_peripheral_blasts_per_ul_above",
    )


def test_responses_to_symptom_relief_leave_the_marrow_denominator() -> None:
    # rule: RESP-02 — goal symptom relief removes the episode from QM-17.
    item = indicator(load_definition(), "QM-17")
    assert "goal_symptom_relief" in item.exclusions
    assert item.numerator.with_mrd


def test_the_tki_list_is_the_selection_catalogue_of_ph_02() -> None:
    definition = load_definition()
    tki = indicator(definition, "QM-08").numerator.options
    assert list(tki) == definition.section("selection")["tki_choices"]["names"]


def test_skipped_tasks_count_as_a_lapse_by_default_and_institutions_may_excuse_them() -> None:
    assert load_definition().default("adherence_skipped_counts_as") == "missed"
    overridden = load_definition(overrides={"adherence_skipped_counts_as": "excused"})
    assert overridden.default("adherence_skipped_counts_as") == "excused"
    with pytest.raises(DefinitionError, match="adherence_skipped_counts_as"):
        load_definition(overrides={"adherence_skipped_counts_as": "ignored"})


def test_condition_vocabulary_cites_catalogued_rules() -> None:
    catalogue = load_catalogue()
    for condition in CONDITIONS.values():
        assert set(condition.rule_ids) <= set(catalogue), condition.name


def test_every_problem_of_a_bad_indicators_file_is_reported_together(tmp_path: Path) -> None:
    error = load_with_indicators(
        tmp_path,
        """
        indicators:
          QM-01:
            title: LP
            rules: [WU-99]
            unit: episode
            denominator:
              text: all
              planned: {rules: [DEF-03], kinds: [teleport]}
            exclusions: [clinical_trial, moon_phase]
            numerator:
              text: done
              done: {rules: [WU-23], slots: [nowhere], with_results: [csf_colour]}
            window:
              text: w
              kind: task
              defaults: [no_such_default]
          QM-02:
            title: no numerator or window
            rules: [WU-02]
            unit: episode
            denominator: {text: all, starts_induction: true}
          QM-14:
            title: wrong unit evidence
            rules: [INO-05]
            unit: dose
            denominator: {text: doses, doses: {rules: [INO-06]}}
            numerator: {text: x, on_time: true}
            window: {text: w, kind: episode}
          QM-11:
            title: not computable without why
            rules: [REV-03]
            unit: course
            computable: false
            denominator: {text: starts, courses: {regimens: [revumenib]}}
            numerator: {text: x}
            window: {text: w, kind: at_start}
          QM-99:
            title: not a measure
            rules: [QM-01]
            unit: task
        """,
    )
    text = str(error)
    expected = [
        "indicators.QM-01.rules: unknown rule id 'WU-99'",
        "indicators.QM-01.denominator.planned.rules: no task template plans rule 'DEF-03'",
        "indicators.QM-01.denominator.planned.kinds: unknown 'teleport'",
        "indicators.QM-01.exclusions: unknown condition 'moon_phase'",
        "indicators.QM-01.numerator.done.slots: no template of ['WU-23'] has slot 'nowhere'",
        "indicators.QM-01.numerator.done.with_results: no template of ['WU-23'] asks for 'csf_colour'",
        "indicators.QM-01.window.defaults: unknown default 'no_such_default'",
        "indicators.QM-02.numerator: missing",
        "indicators.QM-02.window: missing",
        "indicators.QM-14.numerator: 'on_time' is evidence for unit 'task', not 'dose'",
        "indicators.QM-14.window: kind 'episode' does not apply to unit 'dose'",
        "indicators.QM-11: not computable: needs a reason",
        "indicators.QM-99: unknown measure 'QM-99'",
    ]
    for line in expected:
        assert line in text, line
    assert len(error.problems) >= len(expected)


def test_an_indicator_evidence_must_be_one_term_of_the_vocabulary(tmp_path: Path) -> None:
    data = shipped()
    spec = data["indicators"]["QM-19"]  # type: ignore[index]
    spec["numerator"] = {"text": "x", "on_time": True, "magic": True}
    error = load_with_indicators(tmp_path, yaml.safe_dump(data, sort_keys=False))
    assert "indicators.QM-19.numerator: needs exactly one evidence" in str(error)


def test_a_track_event_names_states_of_the_track(tmp_path: Path) -> None:
    data = shipped()
    data["indicators"]["QM-20b"]["numerator"]["track_event"]["to"] = "cured"  # type: ignore[index]
    error = load_with_indicators(tmp_path, yaml.safe_dump(data, sort_keys=False))
    assert (
        "indicators.QM-20b.numerator.track_event.to: unknown state 'cured' of track 'cns'"
        in str(error)
    )


def test_month_arithmetic_of_the_clinic_calendar() -> None:
    from datetime import date

    from pathways.clock import month_of, months

    assert month_of(date(2026, 1, 15), 1) == (date(2025, 12, 1), date(2025, 12, 31))
    assert month_of(date(2026, 3, 31)) == (date(2026, 3, 1), date(2026, 3, 31))
    assert month_of(date(2024, 3, 1), 1) == (date(2024, 2, 1), date(2024, 2, 29))
    assert [m[0].month for m in months(date(2025, 11, 20), date(2026, 2, 1))] == [11, 12, 1, 2]
    assert months(date(2026, 5, 3), date(2026, 5, 4)) == [(date(2026, 5, 1), date(2026, 5, 31))]
