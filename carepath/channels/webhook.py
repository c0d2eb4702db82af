"""Reminders by webhook: an HTTP POST with an HMAC-SHA256 signature and an idempotency key.

The body is canonical JSON (sorted keys, no spaces); ``X-Carepath-Signature``
is ``sha256=`` + the hex HMAC of exactly those bytes under
``CAREPATH_WEBHOOK_SECRET``, and ``Idempotency-Key`` is the outbox row's key.
A 2xx (or 409, "already have it") is delivered; 408, 425, 429 and 5xx are
retried; any other 4xx is permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING

from carepath import __version__
from carepath.channels.base import ChannelError
from models.repositories.outbox import OutboundMessage

if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "X-Carepath-Signature"
RETRYABLE = frozenset({408, 425, 429})


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(message: OutboundMessage) -> bytes:
    document = {
        "idempotency_key": message.idempotency_key,
        "reason": message.reason,
        "recipient": message.recipient,
        "attempt": message.attempt,
        "task": message.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._secret = secret
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.Client | None = None

    def send(self, message: OutboundMessage) -> str | None:
        body = body_of(message)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.idempotency_key,
            SIGNATURE_HEADER: sign(self._secret, body),
            "User-Agent": f"carepath/{__version__}",
        }
        import httpx  # here: importing it is a share of the web app's start-up, which never sends

        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout, transport=self._transport)
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelError(f"webhook: {type(exc).__name__}") from exc
        status = response.status_code
        if 200 <= status < 300 or status == 409:
            return f"webhook {status}"
        permanent = 400 <= status < 500 and status not in RETRYABLE
        raise ChannelError(f"webhook status {status}", permanent=permanent)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
