"""The phase state machine of RULES.md §0.5 (SM-01..SM-13, SM-P1, SM-P2)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml

from pathways.definition import DEFINITIONS_DIR, load_definition
from pathways.errors import DefinitionError, TransitionNotAllowed, UnknownEvent
from pathways.facts import SignedResponse
from pathways.vocab import Phase, ResponseCategory
from tests.pathways.factories import facts

DEFINITION = load_definition()
MAIN = DEFINITION.machines["main"]


def signed(category: ResponseCategory, **changes):  # type: ignore[no-untyped-def]
    return replace(facts(**changes), signed_response=SignedResponse(category, date(2026, 12, 20)))


def test_every_main_phase_of_sm_01_to_sm_13_is_a_state() -> None:
    # rule: SM-01 SM-02 SM-03 SM-04 SM-05 SM-06 SM-07 SM-08 SM-09 SM-10 SM-11 SM-12 SM-13
    rules = {str(meta["rule"]) for meta in MAIN.states.values()}
    assert {f"SM-{n:02d}" for n in range(1, 14)} <= rules
    assert set(MAIN.states) == {p.value for p in Phase}


def test_a_patient_walks_the_main_line_to_surveillance() -> None:
    # SM-01 -> SM-02 -> SM-03 -> SM-04 -> SM-05 -> SM-06 -> SM-08
    f = facts()
    course = facts(
        treatment={
            "regimen": "blinatumomab",
            "cycle": 1,
            "cycle_start": "2026-11-20",
            "phase": "induction",
        }
    )
    state = MAIN.initial
    state = MAIN.fire(state, "document_rr_diagnosis", f).target
    assert state == "workup"
    state = MAIN.fire(state, "complete_workup", f).target
    assert state == "induction_selection"
    state = MAIN.fire(state, "start_induction", course).target
    state = MAIN.fire(state, "begin_response_assessment", course).target
    assert state == "response_assessment"
    cr = signed(ResponseCategory.CR, **{"fitness.hct_eligible": "yes"})
    state = MAIN.fire(state, "remission_to_hct", cr).target
    assert state == "post_remission_hct"
    state = MAIN.fire(state, "complete_planned_therapy", cr).target
    assert state == "surveillance"


def test_workup_needs_the_decision_facts() -> None:
    # rule: SM-02, IND-00 — the decision waits for Ph, KMT2A, antigens, fitness and goal.
    missing_kmt2a = facts(**{"disease.kmt2a_rearranged": None})
    with pytest.raises(TransitionNotAllowed, match="KMT2A status") as excinfo:
        MAIN.fire("workup", "complete_workup", missing_kmt2a, patient=42)
    error = excinfo.value
    assert (error.patient, error.event, error.phase) == (42, "complete_workup", "workup")
    assert "patient 42" in str(error)


def test_t_cell_disease_does_not_need_b_cell_antigens() -> None:
    f = facts(**{"disease.lineage": "T", "disease.cd19": None, "disease.cd22": None})
    assert MAIN.fire("workup", "complete_workup", f).target == "induction_selection"


def test_an_event_from_the_wrong_phase_is_refused_naming_event_and_phase() -> None:
    with pytest.raises(TransitionNotAllowed) as excinfo:
        MAIN.fire("suspected_rr", "remission_to_hct", facts(), patient="p7")
    assert excinfo.value.phase == "suspected_rr"
    assert "remission_to_hct" in str(excinfo.value) and "p7" in str(excinfo.value)


def test_an_unknown_event_lists_the_known_ones() -> None:
    with pytest.raises(UnknownEvent, match="complete_workup"):
        MAIN.fire("workup", "teleport", facts())


@pytest.mark.parametrize(
    ("category", "hct", "event", "target"),
    [
        (ResponseCategory.CR, "yes", "remission_to_hct", "post_remission_hct"),
        (ResponseCategory.CRH, "no", "remission_without_hct", "post_remission_non_hct"),
        (ResponseCategory.PARTIAL_RESPONSE, "yes", "remission_to_hct", "post_remission_hct"),
        (ResponseCategory.REFRACTORY, "yes", "record_refractory", "refractory"),
        (ResponseCategory.PROGRESSIVE_DISEASE, "no", "record_refractory", "refractory"),
        (ResponseCategory.RELAPSE, "no", "record_relapse", "relapse"),
    ],
)
def test_response_transitions_follow_resp_07(category, hct, event, target) -> None:  # type: ignore[no-untyped-def]
    # rule: RESP-07 — CR/CRh/CRi/PR -> SM-06 if eligible else SM-07; refractory/PD -> SM-10
    f = signed(category, **{"fitness.hct_eligible": hct})
    assert MAIN.fire("response_assessment", event, f).target == target


def test_remission_to_hct_needs_a_signature_and_eligibility() -> None:
    # rule: RESP-07, SM-06 — no signed response, no move (RULES.md §10 rule 2)
    with pytest.raises(TransitionNotAllowed, match="signed response"):
        MAIN.fire(
            "response_assessment", "remission_to_hct", facts(**{"fitness.hct_eligible": "yes"})
        )
    not_eligible = signed(ResponseCategory.CR, **{"fitness.hct_eligible": "pending"})
    with pytest.raises(TransitionNotAllowed, match="hct_eligible = yes"):
        MAIN.fire("response_assessment", "remission_to_hct", not_eligible)


def test_patient_eligible_for_hct_may_choose_maintenance_alone() -> None:
    # rule: POST-06 — SM-07 is allowed for eligible patients (reason recorded by the caller)
    f = signed(ResponseCategory.CR, **{"fitness.hct_eligible": "yes"})
    assert (
        MAIN.fire("response_assessment", "remission_without_hct", f).target
        == "post_remission_non_hct"
    )


def test_relapse_goes_to_re_workup_or_multiply_relapsed_by_count() -> None:
    # rule: SM-09, SM-11, DEF-11
    once = facts()
    twice = facts(**{"history.relapse_dates": ["2024-03-01", "2026-11-02"]})
    assert MAIN.fire("relapse", "restart_workup", once).target == "workup"
    with pytest.raises(TransitionNotAllowed, match="fewer than two relapses"):
        MAIN.fire("relapse", "restart_workup", twice)
    assert MAIN.fire("relapse", "declare_multiply_relapsed", twice).target == "multiply_relapsed"
    with pytest.raises(TransitionNotAllowed):
        MAIN.fire("relapse", "declare_multiply_relapsed", once)


def test_refractory_to_multiply_relapsed_is_a_clinician_confirmed_default() -> None:
    # rule: SM-10 — the guard is [DEFAULT]; the transition is marked local policy
    transition = next(t for t in MAIN.transitions if t.event == "confirm_multiply_relapsed")
    assert transition.default is True
    assert (
        MAIN.fire("refractory", "confirm_multiply_relapsed", facts()).target == "multiply_relapsed"
    )


def test_supportive_care_needs_frailty_symptom_relief_or_declining() -> None:
    # rule: SM-12, IND-01, FIT-07, AMB-22 (a clinician confirms: it is an event, never automatic)
    with pytest.raises(TransitionNotAllowed, match="frail"):
        MAIN.fire("workup", "route_to_supportive_care", facts())
    assert (
        MAIN.fire(
            "workup", "route_to_supportive_care", facts(**{"fitness.category": "frail"})
        ).target
        == "palliative"
    )
    assert (
        MAIN.fire("induction", "route_to_supportive_care", facts(goal="symptom_relief")).target
        == "palliative"
    )
    assert (
        MAIN.fire("palliative", "select_induction_again", facts()).target == "induction_selection"
    )


def test_trial_and_end_of_tracking() -> None:
    # rule: SM-13
    assert MAIN.fire("induction_selection", "enrol_in_trial", facts()).target == "clinical_trial"
    assert MAIN.fire("clinical_trial", "leave_trial", facts()).target == "induction_selection"
    assert MAIN.fire("clinical_trial", "end_tracking", facts()).target == "ended"
    assert MAIN.allowed("ended") == []


def test_cns_and_testis_parallel_tracks() -> None:
    # rule: SM-P1, SM-P2, CNS-05, TEST-03
    cns = DEFINITION.machines["cns"]
    assert cns.fire("not_started", "start_cns_prophylaxis", facts()).target == "prophylaxis"
    with pytest.raises(TransitionNotAllowed, match="CNS status recorded as involved"):
        cns.fire("prophylaxis", "document_cns_involvement", facts())
    involved = facts(**{"disease.cns_status": "involved"})
    assert cns.fire("prophylaxis", "document_cns_involvement", involved).target == "treatment"
    testis = DEFINITION.machines["testis"]
    with pytest.raises(TransitionNotAllowed):
        testis.fire("not_applicable", "document_testicular_disease", facts())
    disease = facts(**{"disease.testicular_involvement": True})
    assert testis.fire("not_applicable", "document_testicular_disease", disease).target == "active"


def _write_definition(folder: Path, machines: dict, extra: dict | None = None) -> Path:  # type: ignore[type-arg]
    folder.mkdir(parents=True)
    data = {"name": "broken", "version": "0.1", "machines": machines, "defaults": {}}
    data.update(extra or {})
    (folder / "pathway.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


def test_every_definition_problem_is_reported_at_once(tmp_path: Path) -> None:
    machines = {
        "main": {
            "initial": "a",
            "finals": ["z"],
            "states": {
                "a": {"rule": "SM-01"},
                "b": {"rule": "SM-02"},
                "island": {"rule": "SM-99"},
                "z": {"rule": "SM-12"},
            },
            "transitions": [
                {
                    "event": "go",
                    "from": ["a"],
                    "to": "b",
                    "rules": ["SM-01"],
                    "guards": ["no_such_guard"],
                },
                {"event": "jump", "from": ["a"], "to": "nowhere", "rules": ["XX-01"]},
            ],
        }
    }
    folder = _write_definition(tmp_path / "broken" / "0.1", machines, {"mystery": {}})
    with pytest.raises(DefinitionError) as excinfo:
        load_definition("broken", "0.1", folder=folder)
    problems = "\n".join(excinfo.value.problems)
    for expected in (
        "unknown guard 'no_such_guard'",
        "unknown state 'nowhere'",
        "unknown rule id 'SM-99'",
        "unknown rule id 'XX-01'",
        "state 'island' is unreachable",
        "state 'b' is a trap",
        "state 'z' is unreachable",
        "mystery: unknown section",
    ):
        assert expected in problems
    assert len(excinfo.value.problems) >= 8


def test_default_overrides_are_checked_by_name_type_and_choice() -> None:
    with pytest.raises(DefinitionError) as excinfo:
        load_definition(
            overrides={"crh_rule": "MAYBE", "no_such_default": 1, "age_caution_years": "old"}
        )
    problems = "\n".join(excinfo.value.problems)
    assert "'crh_rule': 'MAYBE' is not one of" in problems
    assert "'no_such_default': no such default" in problems
    assert "'age_caution_years': expected int" in problems
    overridden = load_definition(overrides={"crh_rule": "OR"}).defaults["crh_rule"]
    assert overridden.value == "OR" and overridden.overridden and overridden.shipped_value == "AND"


def test_every_shipped_definition_loads() -> None:
    for name in (p.name for p in DEFINITIONS_DIR.iterdir() if p.is_dir()):
        for version in (p.name for p in (DEFINITIONS_DIR / name).iterdir() if p.is_dir()):
            loaded = load_definition(name, version)
            assert loaded.version == version
