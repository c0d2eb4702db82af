"""Signing in and out: hashed passwords, cookie flags, CSRF on the sign-in form, idle logout, API tokens."""

from __future__ import annotations

import re
import secrets

from fastapi.testclient import TestClient
from sqlalchemy import select

from carepath.settings import Settings
from carepath.web.app import create_app
from models.audit import AuditEvent
from models.user import AppUser, WebSession
from tests.web.support import PASSWORD, Web


def sign_in(client: TestClient, username: str, password: str) -> object:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1), "next": ""},
    )


def test_passwords_are_stored_as_argon2_hashes(web: Web) -> None:
    web.user("coordinator")
    with web.db() as session:
        stored = session.execute(select(AppUser.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_sign_in_sets_a_strict_session_cookie_and_lands_on_the_queue(web: Web) -> None:
    web.user("coordinator")
    client = web.client()
    response = sign_in(client, "coordinator1", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/queue"  # type: ignore[attr-defined]
    cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "carepath_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # development serves plain http on loopback
    assert client.get("/queue").status_code == 200
    with web.db() as session:
        assert session.execute(select(WebSession.id)).first() is not None


def test_outside_development_the_cookie_is_secure(web: Web) -> None:
    settings = Settings(
        database_url=web.settings.database_url,
        environment="production",
        secret_key=secrets.token_urlsafe(32),
        webhook_secret="w" * 40,
    )
    app = create_app(settings, engine=web.engine, clock=web.clock)
    web.user("coordinator")
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    response = sign_in(client, "coordinator1", PASSWORD)
    assert "Secure" in response.headers["set-cookie"]  # type: ignore[attr-defined]


def test_a_wrong_password_or_name_says_the_same_and_opens_nothing(web: Web) -> None:
    web.user("coordinator")
    client = web.client()
    wrong = sign_in(client, "coordinator1", "not the password!")
    nobody = sign_in(client, "nobody", "not the password!")
    for response in (wrong, nobody):
        assert response.status_code == 401  # type: ignore[attr-defined]
        assert "Wrong username or password." in response.text  # type: ignore[attr-defined]
    assert client.get("/queue").status_code == 303


def test_the_sign_in_form_needs_its_own_csrf_token(web: Web) -> None:
    web.user("coordinator")
    client = web.client()
    response = client.post(
        "/login", data={"username": "coordinator1", "password": PASSWORD, "csrf_token": "x"}
    )
    assert response.status_code == 400


def test_next_only_goes_to_a_path_of_this_site(web: Web) -> None:
    web.user("coordinator")
    client = web.client()
    form = client.get("/login?next=//evil.example/x")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={
            "username": "coordinator1",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["location"] == "/queue"


def test_idle_sessions_end_and_send_back_to_sign_in(web: Web) -> None:
    client = web.client("coordinator")
    web.clock.advance(minutes=29)
    assert client.get("/queue").status_code == 200
    web.clock.advance(minutes=29)  # active 29 minutes ago: still in
    assert client.get("/queue").status_code == 200
    web.clock.advance(minutes=31)
    response = client.get("/queue")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert "idle=1" in response.headers["location"]
    assert "session ended" in client.get(response.headers["location"]).text
    web.clock.advance(minutes=-60)  # the session stays ended even if the clock turned back
    assert client.get("/queue").status_code == 303
    with web.db() as session:
        ended = session.execute(select(WebSession.ended_at)).scalar_one()
        idle = session.execute(
            select(AuditEvent).where(AuditEvent.action == "idle_logout")
        ).scalar_one()
    assert ended is not None and idle.actor == "coordinator1"


def test_sign_out_ends_the_session(web: Web) -> None:
    client = web.client("clinician")
    response = client.post("/logout", data={"csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert response.status_code == 303
    assert client.get("/queue").status_code == 303


def test_api_tokens_authenticate_and_a_wrong_token_is_401(web: Web) -> None:
    api = web.api("coordinator")
    assert api.get("/api/v1/tasks").status_code == 200
    bad = TestClient(web.app, headers={"Authorization": "Bearer not-a-token"})
    response = bad.get("/api/v1/tasks")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_a_deactivated_user_is_locked_out(web: Web) -> None:
    from models.repositories.audit import Actor
    from models.repositories.users import set_active

    client = web.client("coordinator")
    api = web.api("coordinator")
    with web.db() as session:
        set_active(
            session,
            username="coordinator1",
            active=False,
            actor=Actor("admin1", "admin", "web"),
            now=web.clock(),
        )
    assert client.get("/queue").status_code == 303
    assert api.get("/api/v1/tasks").status_code == 401


def test_pages_carry_security_headers_and_are_not_cached(web: Web) -> None:
    response = web.client("coordinator").get("/queue")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"


def test_repeated_failed_sign_ins_lock_the_name_until_the_window_passes(web: Web) -> None:
    web.user("coordinator")
    client = web.client()
    assert web.settings.login_max_failures == 5 and web.settings.login_lockout_minutes == 15
    for _ in range(5):
        assert sign_in(client, "coordinator1", "guess!").status_code == 401  # type: ignore[attr-defined]
    # The sixth attempt is refused even with the right password, which is not checked.
    locked = sign_in(client, "coordinator1", PASSWORD)
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "Too many failed sign-ins" in locked.text  # type: ignore[attr-defined]
    web.clock.advance(minutes=10)
    assert sign_in(client, "coordinator1", PASSWORD).status_code == 429  # type: ignore[attr-defined]
    # Attempts during the lockout do not extend it: it ends 15 minutes after the failures.
    web.clock.advance(minutes=6)
    assert sign_in(client, "coordinator1", PASSWORD).status_code == 303  # type: ignore[attr-defined]
    with web.db() as session:
        actions = session.execute(
            select(AuditEvent.action, AuditEvent.role)
            .where(AuditEvent.actor == "coordinator1")
            .order_by(AuditEvent.id)
        ).all()
    assert [a for a, _ in actions] == ["sign_in_failed"] * 5 + ["sign_in_locked"] * 2 + ["sign_in"]
    assert {r for _, r in actions} == {"coordinator"}


def test_a_successful_sign_in_clears_earlier_failures(web: Web) -> None:
    web.user("coordinator")
    client = web.client()
    for _ in range(4):
        sign_in(client, "coordinator1", "guess!")
    assert sign_in(client, "coordinator1", PASSWORD).status_code == 303  # type: ignore[attr-defined]
    other = web.client()
    for _ in range(4):
        sign_in(other, "coordinator1", "guess!")
    assert sign_in(other, "coordinator1", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_a_name_that_is_no_user_locks_the_same_way(web: Web) -> None:
    client = web.client()
    answers = [sign_in(client, "nobody", "guess!").status_code for _ in range(6)]  # type: ignore[attr-defined]
    assert answers == [401] * 5 + [429]
    with web.db() as session:
        roles = session.execute(
            select(AuditEvent.role).where(AuditEvent.actor == "nobody")
        ).scalars()
        assert set(roles) == {"none"}
