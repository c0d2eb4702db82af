"""Who may act, and as whom (issue 12 points 1, 3 and 6; issue 14 point 10).

Sign-in names are one form with one failure count per account; sign-in and
the API are rate-limited per client in the database; passwords follow ASVS
V2.1; sessions end after an absolute lifetime; tokens are issued only by
their owner (or by an admin for a service account), expire, are listed and
revoked, and are shown once; every audit event names the credential; an admin
deactivates, reactivates, resets and changes roles from the web.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carepath.security import password_problem, session_digest
from carepath.web.app import create_app
from models.audit import AuditEvent
from models.repositories.audit import Actor
from models.repositories.tokens import issue_api_token
from models.repositories.users import UserError, create_user
from models.user import ApiToken, AppUser, WebSession
from tests.web.support import PASSWORD, SETUP, Web, cr_findings, within_one_minute
from tests.web.test_auth import sign_in


def test_every_letter_case_of_a_name_shares_one_count(web: Web) -> None:
    web.user("admin", "redadmin")
    client = web.client()
    variants = ["redadmin", "RedAdmin", "REDADMIN", " redAdmin ", "rEdadmin"]
    for name in variants:
        assert sign_in(client, name, "guess guess guess").status_code == 401  # type: ignore[attr-defined]
    # The right password under another spelling is refused too: the account is locked.
    assert sign_in(client, "ReDaDmIn", PASSWORD).status_code == 429  # type: ignore[attr-defined]
    with web.db() as session:
        actors = set(
            session.execute(
                select(AuditEvent.actor).where(AuditEvent.action.like("sign_in%"))  # type: ignore[attr-defined]
            ).scalars()
        )
    assert actors == {"redadmin"}


def test_wrong_signature_passwords_count_toward_the_lockout(web: Web) -> None:
    pid = web.patient()
    rid = web.assessment(pid, **cr_findings())
    clinician = web.client("clinician")
    for _ in range(web.settings.login_max_failures):
        answer = clinician.post(
            f"/patients/{pid}/responses/{rid}/sign",
            data={
                "csrf_token": clinician.csrf,  # type: ignore[attr-defined]
                "category": "CR",
                "reason": "r",
                "attest": "yes",
                "password": "guess guess guess",
            },
        )
        assert answer.status_code == 422
    assert sign_in(web.client(), "clinician1", PASSWORD).status_code == 429  # type: ignore[attr-defined]
    locked = clinician.post(
        f"/patients/{pid}/responses/{rid}/sign",
        data={
            "csrf_token": clinician.csrf,  # type: ignore[attr-defined]
            "category": "CR",
            "reason": "r",
            "attest": "yes",
            "password": PASSWORD,
        },
    )
    assert locked.status_code == 422 and "too many failed attempts" in locked.text


def test_sign_in_is_rate_limited_per_client_across_app_processes(web: Web) -> None:
    """Two apps on one database stand for two web processes: the count is shared."""
    settings = web.settings.model_copy(update={"login_rate_per_minute": 4})
    first = TestClient(create_app(settings, engine=web.engine, clock=web.clock))
    second = TestClient(create_app(settings, engine=web.engine, clock=web.clock))
    within_one_minute()
    answers = [
        sign_in(app, "nobody", "guess guess guess").status_code  # type: ignore[attr-defined]
        for app in (first, second, first, second, first)
    ]
    assert answers == [401, 401, 401, 401, 429]
    limited = sign_in(second, "nobody", "guess guess guess")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) <= 60  # type: ignore[attr-defined]
    assert "Too many sign-in attempts from this computer" in limited.text  # type: ignore[attr-defined]


def test_the_api_is_rate_limited_per_client(web: Web) -> None:
    settings = web.settings.model_copy(update={"api_rate_per_minute": 3})
    api = web.api("coordinator")
    limited = TestClient(
        create_app(settings, engine=web.engine, clock=web.clock), headers=dict(api.headers)
    )
    within_one_minute()
    assert [limited.get("/api/v1/tasks").status_code for _ in range(3)] == [200] * 3
    refused = limited.get("/api/v1/tasks")
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert refused.headers["content-type"] == "application/problem+json"
    # Unauthenticated requests count too (a token guesser is limited).
    guesser = TestClient(create_app(settings, engine=web.engine, clock=web.clock))
    assert guesser.get("/api/v1/tasks", headers={"Authorization": "Bearer x"}).status_code == 429


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        (" " * 12, "must not be blank"),
        ("short pass", "at least 12"),
        ("password1234", "common or breached"),
        ("Password1234 ", "common or breached"),
        ("q1w2e3r4t5y6", "common or breached"),
        ("x" * 129, "at most 128"),
    ],
)
def test_passwords_follow_asvs_v2_1(password: str, problem: str) -> None:
    found = password_problem(password)
    assert found is not None and problem in found


def test_long_passphrases_with_spaces_and_any_characters_are_accepted() -> None:
    assert password_problem(PASSWORD) is None
    assert password_problem("  ünïcode passphrase  ") is None


def test_the_admin_form_names_a_refused_password(web: Web) -> None:
    admin = web.client("admin")
    answer = admin.post(
        "/admin/users",
        data={
            "csrf_token": admin.csrf,  # type: ignore[attr-defined]
            "username": "newbie",
            "display_name": "New Bie",
            "role": "coordinator",
            "password": "password1234",
        },
    )
    assert answer.status_code == 422 and "common or breached" in answer.text
    assert "password1234" not in answer.text


def test_sessions_end_after_their_absolute_lifetime(web: Web) -> None:
    assert web.settings.session_absolute_hours == 12
    client = web.client("coordinator")
    for _ in range(12 * 4):  # active every 15 minutes for 12 hours
        assert client.get("/queue").status_code == 200
        web.clock.advance(minutes=15)
    answer = client.get("/queue")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    with web.db() as session:
        assert session.execute(
            select(AuditEvent).where(AuditEvent.action == "session_expired")
        ).scalar_one()


def test_the_session_cookie_is_stored_keyed_by_the_secret_key(web: Web) -> None:
    web.user("coordinator")
    client = web.client()
    response = sign_in(client, "coordinator1", PASSWORD)
    cookie = response.cookies["carepath_session"]  # type: ignore[attr-defined]
    with web.db() as session:
        stored = session.execute(select(WebSession.token_hash)).scalar_one()
    assert stored == session_digest(cookie, web.settings.secret_key)
    # Another key opens nothing: the same cookie under a rotated key is no session.
    rotated = web.settings.model_copy(update={"secret_key": "another key " * 4})
    other = TestClient(create_app(rotated, engine=web.engine, clock=web.clock))
    other.cookies.set("carepath_session", cookie)
    assert other.get("/queue", follow_redirects=False).status_code == 303


def _issued_secret(client: TestClient, answer: object) -> tuple[str, str]:
    location = answer.headers["location"]  # type: ignore[attr-defined]
    page = client.get(location)
    found = re.search(r'<code class="token">([^<]+)</code>', page.text)
    assert found is not None
    return location, found.group(1)


def test_a_person_issues_lists_and_revokes_their_own_tokens(web: Web) -> None:
    clinician = web.client("clinician")
    answer = clinician.post(
        "/account/tokens",
        data={"csrf_token": clinician.csrf, "name": "my scripts"},  # type: ignore[attr-defined]
    )
    assert answer.status_code == 303
    location, secret = _issued_secret(clinician, answer)
    # Post, redirect, get: refreshing shows it no more and issues nothing.
    again = clinician.get(location)
    assert secret not in again.text and "cannot be shown again" in again.text
    with web.db() as session:
        token = session.execute(select(ApiToken)).scalar_one()
    assert token.expires_at == web.clock() + timedelta(days=90)
    api = TestClient(web.app, headers={"Authorization": f"Bearer {secret}"})
    assert api.get("/api/v1/patients").status_code == 200
    listing = clinician.get("/account/tokens").text
    assert "my scripts" in listing and secret not in listing and "active" in listing
    revoke = clinician.post(
        f"/account/tokens/{token.id}/revoke",
        data={"csrf_token": clinician.csrf},  # type: ignore[attr-defined]
    )
    assert revoke.status_code == 303
    assert api.get("/api/v1/patients").status_code == 401
    with web.db() as session:
        event = session.execute(
            select(AuditEvent).where(AuditEvent.action == "revoke")
        ).scalar_one()
    assert event.actor == "clinician1" and (event.credential or "").startswith("session ")


def test_tokens_expire(web: Web) -> None:
    api = web.api("coordinator")
    assert api.get("/api/v1/tasks").status_code == 200
    web.clock.advance(days=91)
    assert api.get("/api/v1/tasks").status_code == 401


def test_an_admin_issues_tokens_only_for_service_accounts(web: Web) -> None:
    web.user("clinician")
    admin = web.client("admin")
    page = admin.get("/admin/users").text
    assert '<option value="">choose…</option>' in page  # no default account
    for_clinician = admin.post(
        "/admin/tokens",
        data={"csrf_token": admin.csrf, "username": "clinician1", "name": "x"},  # type: ignore[attr-defined]
    )
    assert for_clinician.status_code == 422 and "service account" in for_clinician.text
    nobody = admin.post(
        "/admin/tokens",
        data={"csrf_token": admin.csrf, "username": "", "name": "x"},  # type: ignore[attr-defined]
    )
    assert nobody.status_code == 422
    added = admin.post(
        "/admin/users",
        data={
            "csrf_token": admin.csrf,  # type: ignore[attr-defined]
            "kind": "service",
            "username": "lab-bridge",
            "display_name": "Lab bridge",
            "role": "coordinator",
        },
    )
    assert added.status_code == 303
    answer = admin.post(
        "/admin/tokens",
        data={"csrf_token": admin.csrf, "username": "lab-bridge", "name": "lab results"},  # type: ignore[attr-defined]
    )
    assert answer.status_code == 303
    _, secret = _issued_secret(admin, answer)
    service = TestClient(web.app, headers={"Authorization": f"Bearer {secret}"})
    pid = web.patient()
    assert service.get(f"/api/v1/patients/{pid}").status_code == 200
    with web.db() as session:
        reads = session.execute(
            select(AuditEvent.actor, AuditEvent.credential).where(AuditEvent.channel == "api")
        ).all()
        token_id = session.execute(select(ApiToken.id)).scalar_one()
    assert reads and all(
        actor == "lab-bridge" and credential == f"token {token_id} (lab results)"
        for actor, credential in reads
    )
    assert "lab results" in admin.get("/admin/users").text
    # A service account never signs in on the web, and never is a clinician.
    assert sign_in(web.client(), "lab-bridge", "").status_code == 401  # type: ignore[attr-defined]
    with web.db() as session, pytest.raises(UserError):
        create_user(
            session,
            username="signing-bot",
            display_name="Bot",
            role="clinician",
            kind="service",
            password_hash=None,
            actor=SETUP,
        )


def test_no_one_issues_a_token_for_another_person(web: Web) -> None:
    clinician = web.user("clinician")
    with web.db() as session, pytest.raises(UserError, match="issued by that person"):
        issue_api_token(
            session,
            user=session.get(AppUser, clinician.id),  # type: ignore[arg-type]
            name="as them",
            token_digest="0" * 64,
            actor=Actor("admin1", "admin", "web", "session 1"),
            expires_at=web.clock() + timedelta(days=1),
        )


def test_the_admin_deactivates_reactivates_resets_and_changes_roles(web: Web) -> None:
    web.user("coordinator")
    admin = web.client("admin")
    person = web.client("coordinator")
    api = web.api("coordinator")
    csrf = {"csrf_token": admin.csrf}  # type: ignore[attr-defined]
    assert admin.post("/admin/users/coordinator1/deactivate", data=csrf).status_code == 303
    assert person.get("/queue").status_code == 303  # the session ended
    assert api.get("/api/v1/tasks").status_code == 401  # the token stopped working
    assert sign_in(web.client(), "coordinator1", PASSWORD).status_code == 401  # type: ignore[attr-defined]
    assert admin.post("/admin/users/coordinator1/reactivate", data=csrf).status_code == 303
    assert api.get("/api/v1/tasks").status_code == 200
    role = admin.post("/admin/users/coordinator1/role", data=csrf | {"role": "quality"})
    assert role.status_code == 303
    assert api.get("/api/v1/tasks").status_code == 403  # a quality reviewer has no queue
    temporary = "temporary passphrase 7"
    reset = admin.post("/admin/users/coordinator1/password", data=csrf | {"password": temporary})
    assert reset.status_code == 303
    fresh = web.client()
    signed_in = sign_in(fresh, "coordinator1", temporary)
    assert signed_in.headers["location"] == "/account/password"  # type: ignore[attr-defined]
    assert fresh.get("/adherence").headers["location"] == "/account/password"
    form = fresh.get("/account/password").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    new = "my own new passphrase"
    changed = fresh.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": temporary,
            "new_password": new,
            "new_password_again": new,
        },
    )
    assert changed.status_code == 303
    assert fresh.get("/adherence").status_code == 200
    refused = admin.post("/admin/users/admin1/deactivate", data=csrf)
    assert refused.status_code == 422 and "your own account" in refused.text
    with web.db() as session:
        actions = session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.credential)
            .where(AuditEvent.entity == "app_user", AuditEvent.actor == "admin1")
            .order_by(AuditEvent.id)
        ).all()
    assert [a for a, _, _ in actions] == [
        "deactivate",
        "activate",
        "change_role",
        "reset_password",
    ]
    assert all((c or "").startswith("session ") for _, _, c in actions)
