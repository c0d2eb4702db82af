"""The pathway's patient limits: body measures and age at enrolment ([DEFAULT]s, overridable).

Age-bound statements of the seed: NEL-01 (nelarabine from 16 years), NEL-02
and AMB-15 (under 16: stop and ask a clinician); none covers adolescents.
"""

from __future__ import annotations

from datetime import date

import pytest

from pathways.casefile import parse_case
from pathways.definition import load_definition
from pathways.errors import CaseFormatError
from pathways.patient_limits import (
    PatientLimits,
    adolescent_alert_message,
    age_problems,
    age_years,
    body_problems,
)
from tests.pathways.factories import case

LIMITS = PatientLimits.of(load_definition("rr-all-adult"))
AS_OF = date(2026, 11, 24)


def test_the_shipped_limits_are_visible_defaults() -> None:
    definition = load_definition("rr-all-adult")
    for name in ("patient_weight_kg", "patient_height_cm", "patient_bsa_m2",
                 "pathway_minimum_age_years", "adult_from_age_years"):  # fmt: skip
        setting = definition.defaults[name]
        assert setting.tag == "DEFAULT" and setting.is_local_policy
        assert "NOT IN SOURCE" in setting.basis
    assert LIMITS.minimum_age_years == 12 and LIMITS.adult_from_age_years == 18


def test_an_institution_overrides_them_in_its_policy() -> None:
    strict = PatientLimits.of(
        load_definition(
            "rr-all-adult",
            overrides={"pathway_minimum_age_years": 16, "patient_weight_kg": [30, 250]},
        )
    )
    assert strict.minimum_age_years == 16 and strict.weight_kg == (30.0, 250.0)
    assert (
        "under 16"
        in age_problems(
            strict, birth_date=date(2012, 1, 1), as_of=AS_OF, adolescent_confirmed=True
        )["birth_date"]
    )


@pytest.mark.parametrize(
    ("weight", "height", "fields"),
    [(0.4, 170, {"weight_kg"}), (70, 16, {"height_cm"}), (350, 120, {"weight_kg"}),
     (0.4, 16, {"weight_kg", "height_cm"}), (290, 250, {"weight_kg", "height_cm"})],
)  # fmt: skip
def test_implausible_bodies_are_named_in_plain_words(
    weight: float, height: float, fields: set[str]
) -> None:
    problems = body_problems(LIMITS, weight_kg=weight, height_cm=height)
    assert set(problems) == fields
    for message in problems.values():
        assert "not plausible for an adult" in message and "e+" not in message


def test_the_messages_give_the_limits_and_the_likely_slip() -> None:
    assert body_problems(LIMITS, weight_kg=0.4, height_cm=None) == {
        "weight_kg": "0.4 kg is not plausible for an adult: it must be between 20 and 300 kg "
        "(is it in kilograms?)"
    }
    assert body_problems(LIMITS, weight_kg=None, height_cm=16) == {
        "height_cm": "16 cm is not plausible for an adult: it must be between 100 and 250 cm "
        "(is it in centimetres?)"
    }
    bsa = body_problems(LIMITS, weight_kg=290, height_cm=250)["weight_kg"]
    assert bsa == (
        "290 kg at 250 cm gives a body-surface area of 4.49 m², which is not plausible for an "
        "adult (between 0.6 and 4 m²): check the weight and the height"
    )
    assert body_problems(LIMITS, weight_kg=70, height_cm=175) == {}


def test_age_counts_completed_years() -> None:
    assert age_years(date(2008, 11, 25), AS_OF) == 17
    assert age_years(date(2008, 11, 24), AS_OF) == 18
    assert age_years(date(2008, 2, 29), date(2026, 2, 28)) == 17


def test_under_the_minimum_age_is_refused_as_not_an_adult() -> None:
    assert age_problems(
        LIMITS, birth_date=date(2020, 5, 1), as_of=AS_OF, adolescent_confirmed=True
    ) == {
        "birth_date": "gives an age of 6: this pathway is for adults (18 years and over) "
        "and does not accept a patient under 12"
    }


def test_an_adolescent_needs_an_explicit_confirmation() -> None:
    born = date(2011, 3, 1)  # 15
    assert age_problems(LIMITS, birth_date=born, as_of=AS_OF, adolescent_confirmed=False) == {
        "adolescent_confirmed": "the patient is 15, under 18: this pathway is for adults; "
        "confirm that this adolescent is to be followed here (a clinician is alerted to review)"
    }
    assert age_problems(LIMITS, birth_date=born, as_of=AS_OF, adolescent_confirmed=True) == {}
    assert LIMITS.is_adolescent(born, AS_OF) and not LIMITS.is_adolescent(date(1970, 1, 1), AS_OF)


def test_the_alert_says_no_rule_covers_adolescents_and_cites_what_the_seed_says() -> None:
    message = adolescent_alert_message(LIMITS, age=15)
    assert message.startswith("Adolescent in an adult pathway: 15 years old at enrolment")
    assert "No rule of this pathway covers adolescents" in message
    for rule in ("NEL-01", "NEL-02", "AMB-15", "[Introduction]"):
        assert rule in message


def test_the_case_parser_reports_the_limits_with_every_other_problem() -> None:
    document = case(**{"patient.weight_kg": 0.4, "patient.birth_date": "2020-05-01",
                       "disease.cd22": "weak"})  # fmt: skip
    with pytest.raises(CaseFormatError) as caught:
        parse_case(document, limits=LIMITS)
    assert set(caught.value.problems) == {"disease.cd22", "patient.weight_kg", "patient.birth_date"}
    parse_case(document | {"disease": case()["disease"]} | {"patient": case()["patient"]},
               limits=LIMITS)  # fmt: skip


def test_every_date_problem_is_reported_at_once_in_plain_words() -> None:
    document = case(**{"patient.birth_date": "2027-01-01", "history.relapse_dates": ["2027-02-01"],
                       "history.initial_diagnosis_date": "2027-01-15"})  # fmt: skip
    with pytest.raises(CaseFormatError) as caught:
        parse_case(document)
    assert caught.value.problems == {
        "patient.birth_date": "is in the future (after 2026-11-24)",
        "history.initial_diagnosis_date": "is in the future (after 2026-11-24)",
        "history.relapse_dates[0]": "is in the future (after 2026-11-24)",
    }
    assert not any("as_of" in m for m in caught.value.problems.values())


def test_non_finite_numbers_are_refused() -> None:
    with pytest.raises(CaseFormatError) as caught:
        parse_case(case(**{"patient.weight_kg": float("nan"),
                           "disease.peripheral_blasts_per_ul": float("inf")}))  # fmt: skip
    assert caught.value.problems == {
        "patient.weight_kg": "must be a finite number",
        "disease.peripheral_blasts_per_ul": "must be a finite number",
    }
