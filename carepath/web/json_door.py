"""The JSON door of the whole app: a request body whose numbers are not finite is refused.

Python's JSON parser (and so FastAPI's) accepts ``NaN``, ``Infinity`` and
numbers too large for a float (``1e999`` becomes infinity); none is a JSON
number (RFC 8259), none is a value a clinic measures, and a stored NaN comes
back as ``null``. This plain ASGI middleware reads a JSON body once, and
answers 422 with a problem document naming every such field; any other body
goes on to the route unchanged (malformed JSON is the route's to report).
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carepath.web.problems import problem


class _NotFinite:
    """Stands where the body had a number that is not finite."""


NOT_FINITE = _NotFinite()
PROBLEM = "must be a finite number (not NaN, not Infinity, not too large to store)"


def _number(literal: str) -> float | _NotFinite:
    value = float(literal)
    return value if math.isfinite(value) else NOT_FINITE


def not_finite_fields(body: bytes) -> list[str] | None:
    """The fields (``labs.0.value``) whose number is not finite; None when the body is not JSON."""
    try:
        parsed = json.loads(body, parse_constant=lambda _: NOT_FINITE, parse_float=_number)
    except ValueError:
        return None
    found: list[str] = []

    def walk(value: Any, path: list[str]) -> None:
        if value is NOT_FINITE:
            found.append(".".join(path) or "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, [*path, str(key)])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, [*path, str(index)])

    walk(parsed, [])
    return found


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


class FiniteJsonNumbers:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        fields = not_finite_fields(body)
        if fields:
            errors = {field: PROBLEM for field in fields}
            answer = problem(
                422,
                "The input is not valid",
                "; ".join(f"{f}: {p}" for f, p in errors.items()),
                slug="invalid-input",
                instance=scope["path"],
                errors=errors,
            )
            await answer(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
