"""Values as people read them: one place, used by the templates as filters.

Blasts as a percentage, counts with thousands separators in their unit, MRD
as a percentage or as 10^-n, and "not recorded" where nothing was recorded —
never "unknown%", "30000.0" or "5e-05".
"""

from __future__ import annotations

import math

from jinja2 import Environment

from pathways.core.labs import fmt

NOT_RECORDED = "not recorded"
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def percent(value: float | None) -> str:
    """A percentage already in percent (marrow blasts): ``12%``, ``0.5%``."""
    return NOT_RECORDED if value is None else f"{fmt(round(value, 2))}%"


def count(value: float | None, unit: str = "/µL") -> str:
    """A cell count with thousands separators in its unit: ``30,000 /µL``."""
    return NOT_RECORDED if value is None else f"{fmt(round(value, 1))} {unit}"


def mrd(value: float | None) -> str:
    """An MRD fraction: ``0.005% (5 x 10^-5)``; a power of ten alone as ``10^-4``; 0 as undetectable."""
    if value is None:
        return NOT_RECORDED
    if value == 0:
        return "undetectable (0)"
    exponent = math.floor(math.log10(value))
    mantissa = round(value / 10**exponent, 2)
    if mantissa >= 10:  # 9.999e-5 rounds up to 10 x 10^-5
        mantissa, exponent = 1.0, exponent + 1
    power = "10" + str(exponent).translate(SUPERSCRIPT)
    science = power if mantissa == 1 else f"{fmt(mantissa)}×{power}"
    return f"{fmt(float(f'{value * 100:.3g}'))}% ({science})"


def known(value: object) -> str:
    """A recorded fact, or "not recorded"; yes/no for booleans."""
    if value is None:
        return NOT_RECORDED
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(getattr(value, "value", value)).replace("_", " ")


def number(value: float | None, unit: str = "") -> str:
    """A lab value in its unit: ``1.2 mg/dL``, ``3,200 /µL``."""
    if value is None:
        return NOT_RECORDED
    return f"{fmt(round(value, 3))} {unit}".strip()


FILTERS = {"pct": percent, "count": count, "mrd": mrd, "known": known, "number": number}


def install(env: Environment) -> None:
    env.filters.update(FILTERS)
