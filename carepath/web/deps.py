"""What every request needs: a transaction, the clock, the signed-in person, the access rule.

Access is denied by default. Every route declares who may use it with
``allow(role, ...)`` (or ``public()``), and the app factory refuses to start
when a route has no rule (``check_every_route_has_a_rule``). A cookie session
changing anything must also carry the session's CSRF token (a form field
``csrf_token`` or the ``X-CSRF-Token`` header); an API token in the
``Authorization: Bearer`` header needs none, since a browser never sends it
on its own. A person whose password an admin reset reaches only the page
that sets a new one until they have. API requests are counted per client
address in the database (``api_rate_per_minute``), so the limit holds across
every web process.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import Session

from carepath.reauth import Lockout
from carepath.security import digest, same, session_digest
from carepath.settings import Settings
from models.repositories.audit import Actor, end_view, one_view, record
from models.repositories.tokens import count_request, token_principal
from models.repositories.users import Principal, session_principal
from pathways.clock import local_date
from pathways.core.labs import LabCatalogue
from pathways.vocab import Role

SESSION_COOKIE = "carepath_session"
LOGIN_CSRF_COOKIE = "carepath_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ACCESS_ATTR = "__carepath_access__"
PUBLIC = "public"
# Polled by the pages in the background: they do not keep an idle session alive.
BACKGROUND_PATHS = frozenset({"/queue/live.json"})


class NotAuthenticated(Exception):
    """No live session or token: sign in (web) or 401 (API)."""


class AccessDenied(Exception):
    """Signed in, but this role may not do this (403)."""

    def __init__(self, message: str = "your role may not do this") -> None:
        super().__init__(message)


class PasswordChangeRequired(Exception):
    """An admin reset this person's password: the new one comes first (web: the password page)."""


# Routes a person whose password was reset may still use.
PASSWORD_CHANGE_ROUTES = frozenset({"/account/password", "/logout"})


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def db(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error.

    A refused sign-in or access is still committed: it ends an idle session and
    leaves its audit event, and nothing else was written before the refusal.
    Every read the request makes is one audit event (``one_view``), named by
    its route template (never the path: it may carry an id or a search).
    """
    with (
        Session(request.app.state.engine, expire_on_commit=False) as session,
        one_view(session),
    ):
        try:
            yield session
        except (NotAuthenticated, AccessDenied):
            session.commit()
            raise
        except BaseException:
            session.rollback()
            raise
        else:
            end_view(session, f"{request.method} {_route_name(request)}")
            session.commit()


DB = Annotated[Session, Depends(db, scope="function")]


def settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings  # Starlette's State holds untyped attributes
    return found


def now(request: Request) -> datetime:
    """The request's instant, from the app's clock (tests and the demo can move it), read once."""
    instant: datetime | None = getattr(request.state, "now", None)
    if instant is None:
        instant = request.state.now = request.app.state.clock()
    return instant


def clinic_date(request: Request) -> date:
    """Today on the clinic's calendar, at the request's instant."""
    return local_date(now(request), settings(request).timezone)


def lockout(request: Request) -> Lockout:
    return Lockout.of(settings(request))


def client_address(request: Request) -> str:
    """The client's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return request.client.host if request.client else "unknown"


def count_client(request: Request, session: Session, *, what: str, limit: int) -> int | None:
    """Count this request of the client; the seconds to wait when it is over ``limit`` a minute.

    Counted and committed before anything else the request does, so a refused
    or failing request counts too. ``limit`` 0 turns the limit off.
    """
    if limit <= 0:
        return None
    hits, retry_after = count_request(session, bucket=f"{what}:{client_address(request)}")
    return retry_after if hits > limit else None


def api_rate_limit(request: Request, session: DB) -> None:
    if not is_api(request):
        return
    wait = count_client(request, session, what="api", limit=settings(request).api_rate_per_minute)
    if wait is not None:
        raise HTTPException(
            429,
            f"Too many requests from this client; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def optional_principal(
    request: Request, session: DB, _: Annotated[None, Depends(api_rate_limit)]
) -> Principal | None:
    instant = now(request)
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        return token_principal(session, token_digest=digest(token), now=instant) if token else None
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    config = settings(request)
    return session_principal(
        session,
        token_digest=session_digest(cookie, config.secret_key),
        now=instant,
        idle=timedelta(minutes=config.session_idle_minutes),
        lifetime=timedelta(hours=config.session_absolute_hours),
        touch=request.url.path not in BACKGROUND_PATHS,
    )


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def _check_csrf(request: Request, principal: Principal) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not sent or principal.csrf_token is None or not same(sent, principal.csrf_token):
        raise AccessDenied(
            "the form was stale or not sent by this app (CSRF token); reload and try again"
        )


def _route_name(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", request.url.path)


def allow(*roles: Role) -> Any:
    """The dependency that admits only ``roles`` (and checks CSRF for cookie sessions)."""
    allowed = frozenset(roles)

    async def check(request: Request, session: DB, principal: OptionalPrincipal) -> Principal:
        if principal is None:
            raise NotAuthenticated()
        if principal.role not in allowed:
            record(
                session,
                actor=principal.actor("api" if is_api(request) else "web"),
                action="denied",
                entity="route",
                entity_id=f"{request.method} {_route_name(request)}"[:80],
            )
            raise AccessDenied()
        if request.method not in SAFE_METHODS and principal.via == "session":
            await _check_csrf(request, principal)
        request.state.principal = principal
        if (
            principal.must_change_password
            and principal.via == "session"
            and _route_name(request) not in PASSWORD_CHANGE_ROUTES
        ):
            raise PasswordChangeRequired()
        return principal

    setattr(check, ACCESS_ATTR, allowed)
    return Depends(check)


def public() -> Any:
    """The dependency of a route anyone may use (sign-in page, health check, API document)."""

    def check() -> None:
        return None

    setattr(check, ACCESS_ATTR, PUBLIC)
    return Depends(check)


async def form_fields(request: Request) -> dict[str, str]:
    """The submitted form's text fields (read on the event loop, so handlers can stay sync)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def actor_of(principal: Principal, request: Request) -> Actor:
    return principal.actor("api" if is_api(request) else "web")


def _access_of(dependant: Any) -> Any:
    found = getattr(dependant.call, ACCESS_ATTR, None)
    if found is not None:
        return found
    for sub in dependant.dependencies:
        found = _access_of(sub)
        if found is not None:
            return found
    return None


def route_rules(routes: list[Any]) -> dict[tuple[str, str], Any]:
    """(method, path) -> the roles allowed (a frozenset) or ``"public"``; None when a route has no rule."""
    rules: dict[tuple[str, str], Any] = {}
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or context.path is None:
            continue
        access = _access_of(route.dependant)
        for method in sorted(context.methods or ()):
            rules[(method, context.path)] = access
    return rules


def check_every_route_has_a_rule(routes: list[Any]) -> None:
    missing = [f"{m} {p}" for (m, p), rule in route_rules(routes).items() if rule is None]
    if missing:
        raise RuntimeError(
            "routes without an access rule (denied by default; add allow(...) or public()): "
            + ", ".join(missing)
        )


ALL_STAFF = (Role.COORDINATOR, Role.CLINICIAN, Role.QUALITY, Role.ADMIN)
CARE_TEAM = (Role.COORDINATOR, Role.CLINICIAN)
READERS = (Role.COORDINATOR, Role.CLINICIAN, Role.QUALITY)


def lab_catalogue(request: Request) -> LabCatalogue:
    """The pathway's lab catalogue, with the clinic's reference ranges (policy file applied)."""
    from carepath.pathway import definition_for

    return definition_for(settings(request)).labs
