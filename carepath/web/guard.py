"""The web door's input guard: a size cap on request bodies, and safe text in every field.

Every request passes here before any route runs, so no handler (the forms of
any page, the API, the sign-in) meets a body larger than
``CAREPATH_MAX_BODY_BYTES`` (413), a control character in a query
parameter, a form field or a JSON string, or a JSON number that is not finite
(``carepath.web.json_door``; 422 naming each field). The check is
``pathways.core.text``'s, the same one the command line and the case file use.
A refusal is a problem document under ``/api/`` and a page elsewhere, and
never repeats what was sent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carepath.web import json_door
from pathways.core.text import text_problem, unsafe_strings

JSON_TYPES = ("application/json", "application/merge-patch+json", "application/problem+json")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class BodyTooLarge(Exception):
    pass


class InputGuard:
    """A plain ASGI middleware (see ``HeadersAndAccessLog`` for why not ``BaseHTTPMiddleware``)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        problems = _query_problems(scope)
        if not _has_body(headers):
            await self._answer_or_pass(scope, receive, send, problems)
            return
        try:
            declared = int(headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        try:
            if declared > self.max_body_bytes:
                raise BodyTooLarge
            body = await self._read_body(receive)
        except BodyTooLarge:
            await self._too_large(scope, receive, send)
            return
        replay = _replay(body, receive)
        problems |= await _body_problems(scope, headers, body)
        await self._answer_or_pass(scope, replay, send, problems)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _answer_or_pass(
        self, scope: Scope, receive: Receive, send: Send, problems: dict[str, str]
    ) -> None:
        if not problems:
            await self.app(scope, receive, send)
            return
        from carepath.web.problems import refusal_response

        response = refusal_response(
            Request(scope),
            422,
            "The input is not valid",
            slug="invalid-input",
            errors=problems,
        )
        await response(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        from carepath.web.problems import refusal_response

        limit = self.max_body_bytes
        response = refusal_response(
            Request(scope),
            413,
            "The request is too large",
            f"a request body may hold at most {_size(limit)}; send less at once",
            slug="too-large",
        )
        await response(scope, receive, send)


def _size(limit: int) -> str:
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


def _has_body(headers: Headers) -> bool:
    return "content-length" in headers or "chunked" in headers.get("transfer-encoding", "")


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, then the client's own messages (a disconnect)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def _pairs_problems(pairs: list[tuple[str, Any]]) -> dict[str, str]:
    problems: dict[str, str] = {}
    for name, value in pairs:
        name_problem = text_problem(name, one_line=True)
        if name_problem is not None:
            problems.setdefault("(field name)", f"a field name {name_problem}")
        elif isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                problems.setdefault(name, problem)
    return problems


def _query_problems(scope: Scope) -> dict[str, str]:
    problems: dict[str, str] = {}
    path_problem = text_problem(scope.get("path", ""), one_line=True)
    if path_problem is not None:
        problems["(address)"] = f"the address {path_problem}"
    raw = scope.get("query_string", b"")
    if raw:
        # As Starlette reads them (QueryParams): latin-1 bytes, then percent-decoded UTF-8.
        problems |= _pairs_problems(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
    return problems


async def _body_problems(scope: Scope, headers: Headers, body: bytes) -> dict[str, str]:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in JSON_TYPES or content_type.endswith("+json"):
        try:
            parsed = json_door.parse(body)
            return json_door.not_finite_fields(parsed) | unsafe_strings(parsed)
        except (ValueError, UnicodeDecodeError):
            return {}  # not JSON: the route's own parser answers 422
        except RecursionError:
            return {"(document)": "is nested too deeply"}
    if content_type in FORM_TYPES:
        try:
            form = await Request(scope, _replay(body, _no_more)).form()
        except Exception:  # a malformed form: the route's own parser answers 400
            return {}
        try:
            return _pairs_problems(list(form.multi_items()))
        finally:
            await form.close()
    return {}


async def _no_more() -> Message:
    return {"type": "http.disconnect"}
