"""The application factory behind `carepath serve`: the web app and the REST API.

Background services (the APScheduler clock of the flows) join the app's
lifespan through ``lifespans``: each is an async context manager factory
taking the app, entered at start-up and left at shut-down, so the web app does
not need to know what runs beside it.

Every route has an access rule (``carepath.web.deps.allow``); the factory
refuses to build an app in which one does not. The access log names the
route template (``/patients/{patient_id}``), never the URL a person typed, so
search words and record numbers do not reach the logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carepath import __version__
from carepath.settings import Settings, get_settings
from carepath.timeutil import now as wall_clock
from carepath.web import api_doc, problems
from carepath.web.deps import check_every_route_has_a_rule, public
from carepath.web.guard import InputGuard
from carepath.web.routes import (
    account,
    adherence,
    admin,
    api,
    api_facts,
    api_labs,
    api_tasks,
    audit,
    auth,
    clinician,
    patients,
    queue,
    worklist,
)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

access_log = logging.getLogger("carepath.access")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class HeadersAndAccessLog:
    """Security headers on every answer, and one access-log line naming the route template.

    A plain ASGI middleware (not ``BaseHTTPMiddleware``, which costs a task
    group and a stream per request on the queue's latency budget).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if status == 405:
                    headers["Allow"] = allowed_methods(scope)
                if not static:
                    # Pages and API answers hold patient data: no shared or browser cache.
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if not static:
                route = scope.get("route")
                access_log.info(
                    "%s %s %d %.1fms",
                    scope["method"],
                    getattr(route, "path", None) or "(unmatched)",
                    status,
                    (time.perf_counter() - started) * 1000,
                )


def allowed_methods(scope: Scope) -> str:
    """Every method some route takes on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for context in iter_route_contexts(scope["app"].routes):
        pattern = getattr(context, "path_regex", None)
        if pattern is not None and pattern.match(scope["path"]):
            methods |= set(context.methods or ())
    return ", ".join(sorted(methods))


def create_app(
    settings: Settings | None = None,
    *,
    lifespans: Sequence[Lifespan] = (),
    engine: Engine | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="carepath",
        version=__version__,
        summary="Care-pathway tracker for adults with relapsed or refractory ALL",
        description=(
            "REST API of carepath. Authenticate with `Authorization: Bearer <token>` "
            "(tokens: `carepath user token`). Errors are RFC 9457 problem documents "
            "(`application/problem+json`) naming the field at fault; a refused request "
            "writes nothing. Every read and write of patient data is audited."
        ),
        lifespan=_joint_lifespan(lifespans),
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.clock = clock or wall_clock
    if engine is None:
        from carepath.database import get_engine

        engine = get_engine(settings)
    app.state.engine = engine
    _add_health_checks(app, settings)
    _add_routes(app)
    # Outermost last: every answer, the guard's refusals included, gets the headers and a log line.
    app.add_middleware(InputGuard, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(HeadersAndAccessLog)
    return app


def _joint_lifespan(lifespans: Sequence[Lifespan]) -> Lifespan:
    """One lifespan entering each background service's in turn (and leaving them in reverse)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for enter in lifespans:
                await stack.enter_async_context(enter(app))
            yield

    return lifespan


def _add_health_checks(app: FastAPI, settings: Settings) -> None:
    @app.get("/healthz", include_in_schema=False, dependencies=[public()])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", include_in_schema=False, dependencies=[public()])
    def readyz() -> Response:
        """Readiness (``carepath.web.health``): 200, or 503 naming every reason it is not."""
        from carepath.web.health import readiness

        reasons = readiness(
            app.state.engine, now=app.state.clock(), schedule_owner=settings.schedule_owner
        )
        if reasons:
            body = {
                "type": "/api/v1/problems/not-ready",
                "title": "Not ready",
                "status": 503,
                "detail": "; ".join(reasons),
                "instance": "/readyz",
                "reasons": reasons,
            }
            return JSONResponse(body, status_code=503, media_type=problems.PROBLEM_JSON)
        return JSONResponse({"status": "ready", "version": __version__})


ROUTERS = (
    auth,
    account,
    queue,
    worklist,
    patients,
    clinician,
    adherence,
    audit,
    admin,
    api,
    api_facts,
    api_labs,
    api_tasks,
)


def _add_routes(app: FastAPI) -> None:
    """The pages, the API and the static files; every route must have an access rule."""
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    problems.install(app)
    api_doc.install(app)
    check_every_route_has_a_rule(app.routes)
