"""The lab catalogue (labs.yaml, pathways/core/labs.py): one list of tests, read by every door.

Conversions, plausibility and the likely slip, the local reference range as
overridable policy, the definition-time checks, and two guards: the core floor
imports nothing else of ``pathways``, and no other list of lab codes appears
anywhere in the code or the definition files.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pathways.core.labs import LabValueRefused, fmt, normalise_unit
from pathways.core.labs_file import References, parse_catalogue
from pathways.definition import DEFINITIONS_DIR, load_definition, shipped_definition
from pathways.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[2]
LABS = shipped_definition().labs
CATALOGUE_FILE = DEFINITIONS_DIR / "rr-all-adult" / "2026.1" / "labs.yaml"


def refused(test: str, value: Any, unit: str, **limits: Any) -> dict[str, str]:
    with pytest.raises(LabValueRefused) as caught:
        LABS.measure(test, value, unit, **limits)
    return caught.value.problems


# --------------------------------------------------------------------------- the catalogue


def test_every_test_the_tracker_reads_is_in_the_catalogue_with_its_code_and_units() -> None:
    # rule: INO-05, MON-05 — the codes the issue names, confirmed as recorded in loinc_checked
    expected = {
        "alt": "1742-6",
        "ast": "1920-8",
        "total_bilirubin": "1975-2",
        "platelets": "777-3",
        "anc": "751-8",
        "wbc": "6690-2",
    }
    for code, loinc in expected.items():
        assert LABS.tests[code].loinc == loinc
        assert LABS.test(loinc) is LABS.tests[code]  # the LOINC code names the test too
    for test in LABS.tests.values():
        assert test.loinc_checked.strip(), test.code  # how it was confirmed, or why there is none
        assert test.canonical.multiply == 1 and test.canonical.divide == 1
        assert test.entry_unit in {u.code for u in test.units}
        assert test.rule_ids, test.code


@pytest.mark.parametrize(
    ("test", "value", "unit", "canonical"),
    [
        ("platelets", 45, "×10³/µL", 45000),
        ("platelets", 45, "K/uL", 45000),
        ("platelets", 45, "10^9/L", 45000),
        ("platelets", 45000, "/mm3", 45000),
        ("anc", 0.8, "x10^9/l", 800),
        ("total_bilirubin", 17.1, "µmol/L", 1.0),
        ("alt", 1, "µkat/L", 60),
        ("creatinine", 88.4, "umol/L", 1.0),
        ("magnesium", 1, "mg/dL", 0.4114),
        ("magnesium", 1, "mEq/L", 0.5),
        ("calcium", 1, "mmol/L", 4.008),
        ("phosphorus", 1, "mmol/L", 3.097),
        ("uric_acid", 59.48, "umol/L", 1.0),
        ("hemoglobin", 100, "g/L", 10),
        ("igg", 8, "g/L", 800),
        ("qtcf_ms", 0.45, "s", 450),
        ("potassium", 4.1, "mEq/L", 4.1),
    ],
)
def test_accepted_units_convert_to_the_canonical_unit(
    test: str, value: float, unit: str, canonical: float
) -> None:
    # rule: DEF-03, INO-05, REV-06, MON-26 — [DER] conversions from molar masses (labs.yaml)
    measured = LABS.measure(test, value, unit)
    assert measured.value == pytest.approx(canonical)
    assert measured.unit == LABS.tests[test].canonical.code
    assert measured.entered_value == value
    assert LABS.tests[test].unit(unit) is not None
    assert measured.entered_unit == LABS.tests[test].unit(unit).code  # type: ignore[union-attr]


def test_an_implausible_value_names_the_limit_and_the_likely_slip_both_ways() -> None:
    # rule: DEF-03, MON-22 — the slip a K/uL report invites, and its reverse
    assert refused("platelets", 45, "/uL") == {
        "value": "45 /µL is not plausible for platelets (at least 1,000 /µL); "
        "did you mean 45 ×10³/µL?"
    }
    assert refused("platelets", 45000, "10*3/uL")["value"] == (
        "45,000 ×10³/µL is not plausible for platelets (at most 3,000 ×10³/µL); "
        "did you mean 45,000 /µL?"
    )
    assert "did you mean 300 µmol/L?" in refused("total_bilirubin", 300, "mg/dL")["value"]
    # zero is what a laboratory reports for an undetectable count; 1 is not
    assert LABS.measure("platelets", 0, "/uL").value == 0
    assert "at least 1,000" in refused("platelets", 1, "/uL")["value"]


def test_values_that_are_not_finite_numbers_or_negative_are_refused() -> None:
    # rule: REV-06 — NaN, infinities, negative concentrations; never a "1e+308" in a message
    for value in (math.nan, math.inf, -math.inf, "nan", "Infinity", "abc", None, True):
        assert refused("potassium", value, "mmol/L")["value"].startswith("must be a number")
    assert refused("potassium", -3.2, "mmol/L")["value"].startswith("cannot be negative")
    absurd = refused("potassium", 1e308, "mmol/L")["value"]
    assert absurd == "This value is not plausible for potassium (at most 15 mmol/L)"
    assert "e+" not in refused("platelets", 3e7, "/uL")["value"]


def test_every_bad_part_is_reported_at_once() -> None:
    # rule: INO-05 — a bad unit, a bad ULN and a bad value of one result, together
    problems = refused("alt", "x", "mmol/s", uln="-1")
    assert set(problems) == {"value", "unit", "uln"}
    assert "not a unit of ALT (use U/L, µkat/L)" in problems["unit"]
    assert "cannot be negative" in problems["uln"]
    assert "not a plausible limit" in refused("alt", 30, "U/L", uln=0)["uln"]
    assert "below the upper limit" in refused("potassium", 4, "mmol/L", uln=5, lln=5.2)["lln"]
    assert refused("sodium", 140, "mmol/L") == {"test": "'sodium' is not a test the tracker knows"}


def test_the_units_of_a_form_accept_every_common_spelling() -> None:
    assert {normalise_unit(s) for s in ("×10⁹/L", "x10^9/l", "10*9/L", "10^9/L")} == {"109/l"}
    assert normalise_unit("µmol/L") == normalise_unit("μmol/l") == "umol/l"  # micro sign and mu


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_number_in_a_message_is_never_in_exponent_notation(value: float) -> None:
    text = fmt(value)
    assert "e" not in text.replace("this value", "")


# --------------------------------------------------------------------------- the local reference range


def test_the_local_reference_range_is_a_visible_default_the_policy_file_overrides() -> None:
    # rule: INO-05, MON-05 — lab_reference_uln is [DEFAULT] local policy
    setting = shipped_definition().defaults["lab_reference_uln"]
    assert setting.tag == "DEFAULT" and setting.is_local_policy
    uln = LABS.uln_of("total_bilirubin", None)
    assert uln is not None and (uln.value, uln.source, uln.overridden) == (
        1.2,
        "local reference range",
        False,
    )
    own = LABS.uln_of("total_bilirubin", 1.0)
    assert own is not None and own.source == "laboratory"
    values = {**setting.value, "total_bilirubin": 1.1}
    local = load_definition(overrides={"lab_reference_uln": values}).labs
    overridden = local.uln_of("total_bilirubin", None)
    assert overridden is not None and overridden.value == 1.1 and overridden.overridden
    assert "institution policy file" in overridden.description


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"sodium": 145}, "defaults.lab_reference_uln.sodium: not a test of the lab catalogue"),
        ({"total_bilirubin": -1}, "is not a plausible limit"),
        ({"total_bilirubin": 1e9}, "is not a plausible limit"),
        ({"alt": 40, "ast": 40, "alp": 120}, "no upper limit for total_bilirubin"),
    ],
)
def test_a_bad_reference_range_is_refused_when_the_definition_loads(
    values: dict[str, float], problem: str
) -> None:
    # rule: INO-05 — a ULN a x ULN rule compares against is never missing or absurd
    shipped = shipped_definition().defaults["lab_reference_uln"].value
    merged = values if "alt" in values else {**shipped, **values}
    with pytest.raises(DefinitionError) as caught:
        load_definition(overrides={"lab_reference_uln": merged})
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_a_bad_catalogue_lists_every_problem_at_once() -> None:
    raw = {
        "tests": {
            "Bad Code": {},
            "alt": {
                "label": "ALT",
                "display": "x",
                "loinc": "17426",
                "loinc_checked": "x",
                "units": [{"code": "U/L", "label": "U/L", "multiply": 2}],
                "entry_unit": "kat",
                "plausible": {"low": 10, "high": 1},
                "rules": ["NOPE-01"],
            },
        },
        "panels": {"lft": {"title": "LFT", "tests": ["alt", "ast"]}},
    }
    problems: list[str] = []
    parse_catalogue(raw, References(), frozenset({"INO-05"}), problems)
    for expected in (
        "labs.tests.Bad Code: a test is a snake_case code",
        "labs.tests.alt.loinc: must be a LOINC code",
        "labs.tests.alt.units[0]: the canonical unit (first) converts by 1",
        "labs.tests.alt.entry_unit: 'kat' is not one of its units",
        "labs.tests.alt.plausible: needs 0 <= low < high",
        "labs.tests.alt.rules: unknown rule id 'NOPE-01'",
        "labs.panels.lft.tests: 'ast' is not a test of the catalogue",
    ):
        assert any(expected in p for p in problems), (expected, problems)


def test_result_times_before_1900_and_in_the_future_are_refused() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 24, 19, 30, tzinfo=UTC)
    skew = timedelta(minutes=10)
    assert LABS.result_time_problem(now + timedelta(minutes=5), now=now, skew=skew) is None
    late = LABS.result_time_problem(now + timedelta(minutes=11), now=now, skew=skew)
    assert late is not None and "in the future" in late
    old = LABS.result_time_problem(datetime(1899, 12, 31, tzinfo=UTC), now=now, skew=skew)
    assert old is not None and "before 1900" in old
    naive = LABS.result_time_problem(datetime(2026, 1, 1), now=now, skew=skew)
    assert naive == "must carry a time zone offset"


# --------------------------------------------------------------------------- the guards

CODE_DIRS = ("pathways", "models", "flows", "carepath", "migrations")
CATALOGUE_MODULE = ROOT / "pathways" / "core" / "labs.py"  # (labs_file.py reads labs.yaml)
# The invented demo cohort's synthetic value generator: made-up distributions per test,
# checked against the catalogue below; the tracker itself reads no list of its own.
EXEMPT = {ROOT / "carepath" / "demo" / "simulate.py"}
NAMES = LABS.names


def _string_items(node: ast.AST) -> list[str]:
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items: list[ast.AST | None] = list(node.elts)
    elif isinstance(node, ast.Dict):
        items = list(node.keys)
    else:
        return []
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def lab_code_lists(path: Path) -> list[str]:
    """Collections of two or more catalogue codes (or aliases, LOINC codes) in a Python module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        codes = [s for s in _string_items(node) if s.lower() in NAMES]
        if len(codes) >= 2:
            found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}: {codes}")
    return found


def yaml_code_lists(data: Any, where: str) -> list[str]:
    found = []
    if isinstance(data, dict):
        keys = [k for k in data if isinstance(k, str) and k in LABS.tests]
        if len(keys) >= 2 and not where.endswith(
            ("lab_reference_uln.value", "lab_reference_lln.value")
        ):
            found.append(f"{where}: {keys}")
        for key, value in data.items():
            found += yaml_code_lists(value, f"{where}.{key}")
    elif isinstance(data, list):
        codes = [v for v in data if isinstance(v, str) and v in NAMES]
        if len(codes) >= 2:
            found.append(f"{where}: {codes}")
        for i, value in enumerate(data):
            found += yaml_code_lists(value, f"{where}[{i}]")
    return found


def test_no_other_list_of_lab_codes_remains_in_the_code() -> None:
    # The seven places (LAB_CODES, PANELS/FIELDS, casefile units, LFT_TESTS,
    # LFT_CODES, vocab.LabPanel, regimen result_fields) all read the catalogue now.
    sources = [
        path
        for folder in CODE_DIRS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != CATALOGUE_MODULE and path not in EXEMPT
    ]
    found = [hit for path in sources for hit in lab_code_lists(path)]
    assert found == [], "lab codes listed outside the catalogue:\n" + "\n".join(found)


def test_no_definition_file_but_labs_yaml_lists_lab_codes() -> None:
    # result_fields and indicator codes name a panel of the catalogue (lft, cbc, tls...) instead;
    # the reference ranges are the catalogue's own defaults, keyed by test.
    found = []
    for path in sorted(DEFINITIONS_DIR.rglob("*.yaml")):
        if path.name != "labs.yaml":
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            found += yaml_code_lists(data, str(path.relative_to(DEFINITIONS_DIR)))
    assert found == [], "lab codes listed outside labs.yaml:\n" + "\n".join(found)


def test_the_guards_see_a_list_of_lab_codes(tmp_path: Path) -> None:
    """The checks above must be able to fail."""
    bad = ROOT / "pathways" / "_tmp_guard_probe.py"
    try:
        bad.write_text('LFT = ("alt", "ast")\nWHEN = {"1975-2": 1, "platelets": 2}\n')
        assert len(lab_code_lists(bad)) == 2
    finally:
        bad.unlink()
    assert yaml_code_lists({"t": {"result_fields": ["wbc", "anc"]}}, "x")
    assert not yaml_code_lists({"t": {"result_fields": ["cbc"]}}, "x")


def test_the_demo_generator_only_names_catalogue_tests() -> None:
    from carepath.demo.simulate import ABNORMAL
    from carepath.demo.simulate import LABS as DEMO_LABS

    assert set(DEMO_LABS) | set(ABNORMAL) <= set(LABS.tests)


def test_the_core_floor_imports_nothing_else_of_pathways() -> None:
    for path in sorted((ROOT / "pathways" / "core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith("pathways.") or name.startswith("pathways.core"), (
                    f"{path.name} imports {name}"
                )


def test_the_catalogue_file_is_the_one_the_definition_loads() -> None:
    raw = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))["labs"]
    assert list(raw["tests"]) == list(LABS.tests)
