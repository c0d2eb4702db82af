"""The documented API answers as documented: schemathesis against the running server's OpenAPI.

Bounded (``MAX_EXAMPLES`` per operation, a fixed seed, so CI runs the same
cases every time and stays in minutes): no server error, no response outside
its documented schema, content type or headers, no undocumented status, bad
input refused, no operation open without a token. The figures (test cases,
failures) are printed and kept under ``test-output/schemathesis/``.

Left out: ``positive_data_acceptance`` (random ids name no record: 404 is the
right answer) and the checks that need links between operations (the
document declares none).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from tests.acceptance.harness import ROOT, Carepath
from tests.pathways.factories import case

pytestmark = [pytest.mark.acceptance, pytest.mark.timeout(1800)]

MAX_EXAMPLES = 20
SEED = 2026
REPORTS = ROOT / "test-output" / "schemathesis"
EXCLUDED = (
    "positive_data_acceptance",
    "use_after_free",
    "ensure_resource_availability",
    "object_level_authorization",
)


@pytest.fixture(scope="module")
def unlimited(launch: Callable[..., AbstractContextManager[Carepath]]) -> Iterator[Carepath]:
    """A server of its own with the API rate limit off: the fuzzer sends well over the
    default 600 requests a minute, and a 429 would answer in place of what it probes.
    The limit itself is proven in test_identity.py."""
    with launch("schemathesis", env={"CAREPATH_API_RATE_PER_MINUTE": "0"}) as installation:
        yield installation


def test_the_api_answers_as_its_openapi_document_says(unlimited: Carepath) -> None:
    server = unlimited
    clinician = server.add_user("clinician")
    with server.api(clinician) as api:
        created = api.post(
            "/patients", json={"mrn": "ST-1", "display_name": "Schema Probe", "case": case()}
        )
        assert created.status_code == 201, created.text
    token = server.token(clinician)
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = REPORTS / "report.json"
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{server.url}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--exclude-checks",
            ",".join(EXCLUDED),
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    (REPORTS / "output.txt").write_text(run.stdout + run.stderr, encoding="utf-8")
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    print(summary)
    figures = summarize(report)
    print(f"schemathesis: {figures}")
    assert run.returncode == 0, run.stdout[-6000:]
    assert (figures["failures"], figures["errors"]) == (0, 0)
    document = httpx.get(f"{server.url}/api/v1/openapi.json", timeout=30).json()
    operations = sum(len(methods) for methods in document["paths"].values())
    assert figures["operations"] == operations and figures["test cases"] >= 500  # it ran them all


def summarize(report: Path) -> dict[str, int]:
    """Test cases, failures (each kind of failure, counted as schemathesis counts them), errors."""
    data = json.loads(report.read_text(encoding="utf-8"))
    return {
        "test cases": int(data["test_cases"]["generated"]),
        "unique failures": int(data["test_cases"]["unique_failures"]),
        "failures": sum(int(f["count"]) for f in data["failures"]),
        "errors": len(data["errors"]),
        "operations": int(data["operations"]["tested"]),
    }
