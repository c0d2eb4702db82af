"""Every path that can write ``signed_by`` re-authenticates the signer (issue 12 point 2).

The walk has three parts. The source is read (AST) for every function that
writes ``signed_by`` and every place that calls one of them; the sets must be
exactly the known ones, so a new writer or a new door fails here until it is
added to this walk. Each writer refuses to sign without the acting
clinician's own ``Signature``. And each door (the sign and amend forms, the
transition form, the API, the CLI) is driven with no password, a wrong one
and the right one: only the last signs, and a wrong one counts toward the
account's lockout.
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from typer.testing import CliRunner

from models.audit import AuditEvent
from models.pathway import ResponseAssessmentRecord
from models.repositories.audit import Actor
from models.repositories.responses import ResponseError, amend_response, sign_response
from models.repositories.transitions import apply_transition
from models.repositories.users import Signature
from pathways.definition import load_definition
from pathways.vocab import ResponseCategory
from tests.web.support import PASSWORD, TZ, Web, cr_findings

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("carepath", "models", "flows", "pathways")
WRITERS = {
    ("models/repositories/responses.py", "sign_response"),
    ("models/repositories/responses.py", "amend_response"),
    # apply_transition checks the signature, then signs the latest assessment here
    # (the one that holds the findings) or, with none, a row of its own.
    ("models/repositories/transitions.py", "_sign_latest"),
}
# What the doors call: each checks the signature before anything is written.
ENTRY_POINTS = {"sign_response", "amend_response", "apply_transition"}
# Every caller of a writer, and how it re-authenticates.
DOORS = {
    ("carepath/web/routes/clinician.py", "sign"): "web sign form (step_up)",
    ("carepath/web/routes/clinician.py", "_sign_and_transition"): (
        "web sign form with the transition it implies (the sign form's one step_up)"
    ),
    ("carepath/web/routes/clinician.py", "amend"): "web amend form (step_up)",
    ("carepath/web/routes/clinician.py", "transition"): "web transition form (step_up)",
    ("carepath/web/routes/api.py", "api_transition"): "API (signature step-up)",
    ("carepath/cli/transition.py", "transition"): "CLI (password prompt, step_up)",
    ("carepath/demo/loader.py", "load_patient"): "demo history (demo signature, no account)",
    ("carepath/demo/simulate.py", "_sign"): "demo history (demo signature, no account)",
}


def _functions(path: Path) -> list[tuple[str, ast.AST]]:
    tree = ast.parse(path.read_text())
    return [
        (node.name, node)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def _sources() -> list[Path]:
    return [p for package in PRODUCT for p in sorted((ROOT / package).rglob("*.py"))]


def _writes_signed_by(node: ast.AST) -> bool:
    """A row of the table built with ``signed_by``, or ``signed_by`` assigned on one."""
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Call)
            and getattr(sub.func, "id", None) == "ResponseAssessmentRecord"
            and any(k.arg == "signed_by" for k in sub.keywords)
        ):
            return True
        if (
            isinstance(sub, ast.Attribute)
            and sub.attr == "signed_by"
            and isinstance(sub.ctx, ast.Store)
        ):
            return True
    return False


def test_the_writers_of_signed_by_are_exactly_the_known_ones() -> None:
    found = set()
    for path in _sources():
        rel = str(path.relative_to(ROOT))
        for name, node in _functions(path):
            if _writes_signed_by(node):
                found.add((rel, name))
        # Nor does raw SQL write it behind the repositories' back.
        for const in ast.walk(ast.parse(path.read_text())):
            if isinstance(const, ast.Constant) and isinstance(const.value, str):
                text = const.value.upper()
                if "SIGNED_BY" in text and ("INSERT" in text or "UPDATE" in text):
                    found.add((rel, "raw SQL"))
    assert found == WRITERS


def test_every_caller_of_a_writer_is_a_known_door() -> None:
    names = ENTRY_POINTS | {name for _, name in WRITERS if not name.startswith("_")}
    callers = set()
    for path in _sources():
        rel = str(path.relative_to(ROOT))
        if rel.startswith("models/repositories/"):
            continue
        for name, node in _functions(path):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call):
                    called = getattr(sub.func, "id", None) or getattr(sub.func, "attr", None)
                    if called in names:
                        callers.add((rel, name))
    assert callers == set(DOORS)


def test_a_signature_is_made_only_by_the_step_up_and_the_demo() -> None:
    made = set()
    for path in _sources():
        for const in ast.walk(ast.parse(path.read_text())):
            if isinstance(const, ast.Call) and getattr(const.func, "id", None) == "Signature":
                made.add(str(path.relative_to(ROOT)))
    assert made == {"carepath/reauth.py", "carepath/demo/loader.py"}


CLINICIAN = Actor("clinician1", "clinician", "web", "session 1")


@pytest.mark.parametrize(
    "signature",
    [
        None,
        Signature("clinician2", "clinician", "session 2", "password"),  # someone else's
        Signature("clinician1", "clinician", "demo", "demo"),  # "demo" for a real account
        Signature("clinician1", "clinician", "session 1", "guess"),
    ],
)
def test_each_writer_refuses_without_the_signers_own_signature(
    web: Web, signature: Signature | None
) -> None:
    web.user("clinician")
    pid = web.patient()
    unsigned = web.assessment(pid, **cr_findings())
    signed = web.assessment(pid, **cr_findings())
    ok = Signature("clinician1", "clinician", "session 1", "password")
    with web.db() as session:
        sign_response(
            session,
            patient_id=pid,
            assessment_id=signed,
            category="CR",
            reason="r",
            actor=CLINICIAN,
            signature=ok,
            now=web.clock(),
        )
    writers = {
        "sign": lambda s: sign_response(
            s,
            patient_id=pid,
            assessment_id=unsigned,
            category="CR",
            reason="r",
            actor=CLINICIAN,
            signature=signature,
            now=web.clock(),
        ),
        "amend": lambda s: amend_response(
            s,
            patient_id=pid,
            assessment_id=signed,
            category="CRi",
            reason="r",
            actor=CLINICIAN,
            signature=signature,
            now=web.clock(),
        ),
        "transition": lambda s: apply_transition(
            s,
            patient_id=pid,
            event="document_rr_diagnosis",
            actor=CLINICIAN,
            reason="r",
            definition=load_definition("rr-all-adult"),
            as_of=web.clock.today,
            timezone=TZ,
            signed_response=ResponseCategory.CR,
            signature=signature,
        ),
    }
    for name, write in writers.items():
        with Session(web.engine) as session, pytest.raises(ResponseError) as refused:
            write(session)
        assert refused.value.status == 403 and refused.value.field == "signature", name
    assert _signed_rows(web) == 1


def _signed_rows(web: Web) -> int:
    with web.db() as session:
        return session.execute(
            select(func.count()).where(ResponseAssessmentRecord.signed_by.is_not(None))  # type: ignore[union-attr]
        ).scalar_one()


def _failures(web: Web) -> int:
    with web.db() as session:
        return session.execute(
            select(func.count()).where(AuditEvent.action == "signature_failed")
        ).scalar_one()


def test_every_door_signs_only_with_the_signers_password(web: Web) -> None:
    pid = web.patient()
    unsigned = web.assessment(pid, **cr_findings())
    browser = web.client("clinician")
    api = web.api("clinician")
    csrf = browser.csrf  # type: ignore[attr-defined]
    base = {"csrf_token": csrf, "category": "CR", "reason": "marrow reviewed", "attest": "yes"}
    transition = {
        "csrf_token": csrf,
        "event": "document_rr_diagnosis",
        "reason": "marrow reviewed",
        "response": "CR",
        "attest": "yes",
    }
    api_body: dict[str, object] = {
        "event": "document_rr_diagnosis",
        "reason": "marrow reviewed",
        "signed_response": "CR",
    }

    def web_sign(password: str | None) -> int:
        data = base | ({} if password is None else {"password": password})
        return browser.post(f"/patients/{pid}/responses/{unsigned}/sign", data=data).status_code

    def web_transition(password: str | None) -> int:
        data = transition | ({} if password is None else {"password": password})
        return browser.post(f"/patients/{pid}/transitions", data=data).status_code

    def api_transition(password: str | None) -> int:
        body = api_body | (
            {} if password is None else {"signature": {"password": password, "attest": True}}
        )
        return api.post(f"/api/v1/patients/{pid}/transitions", json=body).status_code

    doors = ((web_sign, 422), (web_transition, 422), (api_transition, 401))
    for failures, (door, refused) in enumerate(doors, start=1):
        before = _signed_rows(web)
        assert door(None) == refused, door.__name__
        assert door("not my password!") in (403, 422), door.__name__
        assert _failures(web) == failures  # a wrong signature password is counted
        assert _signed_rows(web) == before, door.__name__
    assert web_sign(PASSWORD) == 303
    assert _signed_rows(web) == 1
    # The amend form: the same step-up.
    amend = base | {"category": "CRi"}
    assert (
        browser.post(f"/patients/{pid}/responses/{unsigned}/amend", data=amend).status_code == 422
    )
    ok = browser.post(
        f"/patients/{pid}/responses/{unsigned}/amend", data=amend | {"password": PASSWORD}
    )
    assert ok.status_code == 303 and _signed_rows(web) == 2
    assert api_transition(PASSWORD) == 201 and _signed_rows(web) == 3
    with web.db() as session:
        detail = session.execute(
            select(AuditEvent.detail, AuditEvent.credential).where(
                AuditEvent.action == "transition"
            )
        ).one()
    assert detail[0]["reauthenticated"] == "password" and detail[1].startswith("token ")


def test_the_api_refusal_says_how_to_sign(web: Web) -> None:
    pid = web.patient()
    api = web.api("clinician")
    body = {"event": "document_rr_diagnosis", "reason": "x", "signed_response": "CR"}
    answer = api.post(f"/api/v1/patients/{pid}/transitions", json=body)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert "insufficient_user_authentication" in answer.headers["www-authenticate"]
    problem = answer.json()
    assert problem["type"] == "/api/v1/problems/signature-required"
    assert '"signature": {"password"' in problem["detail"] and '"attest": true' in problem["detail"]
    wrong = api.post(
        f"/api/v1/patients/{pid}/transitions",
        json=body | {"signature": {"password": "nope nope nope", "attest": True}},
    )
    assert wrong.status_code == 403 and wrong.json()["type"].endswith("/signature-refused")
    assert wrong.json()["field"] == "signature.password"


def test_the_cli_signs_only_after_the_clinicians_password(web: Web, cli_env: str) -> None:
    from carepath.cli import app

    web.user("clinician")
    pid = web.patient()
    runner = CliRunner()
    args = [
        "transition",
        str(pid),
        "document_rr_diagnosis",
        "--actor",
        "clinician1",
        "--reason",
        "marrow reviewed",
        "--response",
        "CR",
    ]
    wrong = runner.invoke(app, args, input="not my password!\n")
    assert wrong.exit_code == 2 and "password" in wrong.output
    assert _failures(web) == 1 and _signed_rows(web) == 0
    nobody = runner.invoke(app, [*args[:4], "Dr Nobody", *args[5:]], input=PASSWORD + "\n")
    assert nobody.exit_code == 2 and "no active account" in nobody.output
    ok = runner.invoke(app, args, input=PASSWORD + "\n")
    assert ok.exit_code == 0, ok.output
    assert _signed_rows(web) == 1


def test_the_demo_signature_never_stands_for_an_account(web: Web) -> None:
    from carepath.demo.loader import DEMO_SIGNATURE

    web.user("clinician", "demo.clinician")  # were someone to make the demo's name an account
    pid = web.patient()
    with Session(web.engine) as session, pytest.raises(ResponseError):
        apply_transition(
            session,
            patient_id=pid,
            event="document_rr_diagnosis",
            actor=Actor("demo.clinician", "clinician", "cli", "demo"),
            reason="r",
            definition=load_definition("rr-all-adult"),
            as_of=date(2026, 11, 24),
            timezone=TZ,
            signed_response=ResponseCategory.CR,
            signature=DEMO_SIGNATURE,
            at=datetime(2026, 11, 24, tzinfo=UTC),
        )
