"""Is this a plausible patient for an adult pathway? Body measures and age at enrolment.

The limits are [DEFAULT]s of the versioned definition (``defaults.yaml``:
``patient_weight_kg``, ``patient_height_cm``, ``patient_bsa_m2``,
``pathway_minimum_age_years``, ``adult_from_age_years``), so an institution
sets its own with ``CAREPATH_POLICY_FILE``. The body limits catch typing and
unit slips (0.4 kg, 16 cm, 350 kg at 120 cm); they are data-entry limits, not
clinical thresholds.

Age: the source reviews r/r ALL in adults and leaves children and adolescents
to a separate review [Introduction]; it gives no age range, and its one
age-bound dose statement is nelarabine from 16 years (NEL-01; under 16, NEL-02
and AMB-15: stop and ask a clinician). No rule covers adolescents, so a patient below the
pathway's minimum age is refused, and one from that age to adulthood is
accepted only with an explicit confirmation and carries a critical alert a
clinician acknowledges (``ADOLESCENT_ALERT``). Messages are plain words and
name the limits, never other patient data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pathways.core.field_errors import number
from pathways.dosing import bsa_m2

ADOLESCENT_ALERT = "adolescent_in_adult_pathway"
# The seed's age-bound statements, cited by the adolescent alert (none covers adolescents).
AGE_RULES = ("NEL-01", "NEL-02", "AMB-15")


@dataclass(frozen=True, slots=True)
class PatientLimits:
    weight_kg: tuple[float, float]
    height_cm: tuple[float, float]
    bsa_m2: tuple[float, float]
    bsa_formula: str
    minimum_age_years: int
    adult_from_age_years: int

    @classmethod
    def of(cls, definition: Any) -> PatientLimits:
        """The limits of a definition (``definition.default(name)``), policy overrides applied."""

        def pair(name: str) -> tuple[float, float]:
            low, high = definition.default(name)
            return float(low), float(high)

        return cls(
            weight_kg=pair("patient_weight_kg"),
            height_cm=pair("patient_height_cm"),
            bsa_m2=pair("patient_bsa_m2"),
            bsa_formula=str(definition.default("bsa_formula")),
            minimum_age_years=int(definition.default("pathway_minimum_age_years")),
            adult_from_age_years=int(definition.default("adult_from_age_years")),
        )

    def is_adolescent(self, birth_date: date, as_of: date) -> bool:
        age = age_years(birth_date, as_of)
        return self.minimum_age_years <= age < self.adult_from_age_years


def age_years(birth_date: date, as_of: date) -> int:
    """Completed years on ``as_of`` (a birthday on 29 February counts on 1 March)."""
    years = as_of.year - birth_date.year
    return years - ((as_of.month, as_of.day) < (birth_date.month, birth_date.day))


def body_problems(
    limits: PatientLimits, *, weight_kg: float | None, height_cm: float | None
) -> dict[str, str]:
    """Weight, height and, when both are plausible, the BSA they give (``weight_kg``, ``height_cm``)."""
    problems: dict[str, str] = {}
    checks = (("weight_kg", weight_kg, limits.weight_kg, "kg", "kilograms"),
              ("height_cm", height_cm, limits.height_cm, "cm", "centimetres"))  # fmt: skip
    for name, value, (low, high), unit, unit_name in checks:
        if value is not None and not low <= value <= high:
            problems[name] = (
                f"{number(value)} {unit} is not plausible for an adult: it must be between "
                f"{number(low)} and {number(high)} {unit} (is it in {unit_name}?)"
            )
    if weight_kg is None or height_cm is None or problems or weight_kg <= 0 or height_cm <= 0:
        return problems
    bsa = bsa_m2(weight_kg, height_cm, limits.bsa_formula)
    low, high = limits.bsa_m2
    if not low <= bsa <= high:
        message = (
            f"{number(weight_kg)} kg at {number(height_cm)} cm gives a body-surface area of "
            f"{bsa:.2f} m², which is not plausible for an adult (between {number(low)} and "
            f"{number(high)} m²): check the weight and the height"
        )
        problems = {"weight_kg": message, "height_cm": message}
    return problems


def age_problems(
    limits: PatientLimits, *, birth_date: date, as_of: date, adolescent_confirmed: bool
) -> dict[str, str]:
    """The pathway's age gate (``birth_date``, ``adolescent_confirmed``); {} for an adult."""
    age = age_years(birth_date, as_of)
    if age < 0:
        return {}  # a birth date in the future is the date checks' problem
    adult = limits.adult_from_age_years
    if age < limits.minimum_age_years:
        return {
            "birth_date": (
                f"gives an age of {age}: this pathway is for adults ({adult} years and over) "
                f"and does not accept a patient under {limits.minimum_age_years}"
            )
        }
    if age < adult and not adolescent_confirmed:
        return {
            "adolescent_confirmed": (
                f"the patient is {age}, under {adult}: this pathway is for adults; confirm that "
                "this adolescent is to be followed here (a clinician is alerted to review)"
            )
        }
    return {}


def adolescent_alert_message(limits: PatientLimits, *, age: int) -> str:
    return (
        f"Adolescent in an adult pathway: {age} years old at enrolment (adult from "
        f"{limits.adult_from_age_years}, a local default). No rule of this pathway covers "
        "adolescents: the source reviews r/r ALL in adults and leaves children and adolescents "
        "to a separate review [Introduction]; its one age-bound dose statement is nelarabine from "
        "16 years (NEL-01; under 16, NEL-02 and AMB-15: stop and ask a clinician). Review "
        "every suggestion of this pathway for this patient."
    )
