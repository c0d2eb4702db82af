"""The Prefect/FastAPI pins travel together (ENVIRONMENT.md): a bump that breaks them fails here."""

from __future__ import annotations

from importlib.metadata import version

from packaging.version import Version


def test_prefect_testing_utilities_import() -> None:
    # Importing the test harness imports Prefect's server API, which is what
    # FastAPI >= 0.155 breaks (Body(min_items=...)).
    from prefect.testing.utilities import prefect_test_harness

    assert callable(prefect_test_harness)


def test_prefect_and_fastapi_versions_are_the_known_good_pair() -> None:
    assert Version(version("prefect")) == Version("3.8.8")
    assert Version(version("fastapi")) < Version("0.155")


def test_apscheduler_has_the_dst_fixes() -> None:
    assert Version("3.11.2") <= Version(version("apscheduler")) < Version("4")
