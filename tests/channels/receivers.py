"""Local receivers for the channel tests: a real SMTP server (aiosmtpd) and an HTTP webhook endpoint.

Both keep every transmission and deduplicate by idempotency key the way a
careful receiver would: ``transmissions[key]`` counts what arrived,
``delivered`` holds each key once, the first time it arrived intact.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class SmtpInbox:
    messages: list[Message] = field(default_factory=list)
    transmissions: Counter[str] = field(default_factory=Counter)
    delivered: dict[str, Message] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)
    sessions: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        msg = message_from_bytes(envelope.content)
        self.messages.append(msg)
        key = str(msg["Idempotency-Key"])
        self.transmissions[key] += 1
        self.delivered.setdefault(key, msg)
        return "250 Message accepted for delivery"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        self.sessions += 1
        session.host_name = hostname
        return responses


# aiosmtpd warns at every AUTH of a deprecation inside itself; not ours to act on.
logging.getLogger("mail.log").setLevel(logging.ERROR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files in ``folder``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Credentials:
    """What the server accepts with AUTH, and what it was offered."""

    username: str
    password: str
    attempts: list[tuple[str, bool]] = field(default_factory=list)  # (username, accepted)

    def __call__(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        self.attempts.append((auth_data.login.decode(), ok))
        return AuthResult(success=ok)


class SmtpServer:
    """aiosmtpd on a free port; with ``certificate``, STARTTLS is offered and required
    (and AUTH, with ``credentials``, only after it)."""

    def __init__(
        self,
        *,
        certificate: tuple[Path, Path] | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.inbox = SmtpInbox()
        self.port = _free_port()
        options: dict[str, Any] = {}
        if certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            options.update(tls_context=context, require_starttls=True)
        if credentials is not None:
            options.update(authenticator=credentials, auth_required=True, auth_require_tls=True)
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, server_hostname="localhost", **options
        )

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@dataclass
class WebhookLog:
    secret: str
    transmissions: Counter[str] = field(default_factory=Counter)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad_signatures: int = 0
    status: int = 200
    # Accept this many new deliveries, then hold the next one (after accepting it)
    # without answering until ``release`` is set: the sender never learns it arrived.
    hold_after: int | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class WebhookServer:
    def __init__(self, secret: str) -> None:
        self.log = WebhookLog(secret=secret)
        log = self.log

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key", "")
                expected = (
                    "sha256=" + hmac.new(log.secret.encode(), body, hashlib.sha256).hexdigest()
                )
                if not hmac.compare_digest(expected, self.headers.get("X-Carepath-Signature", "")):
                    with log.lock:
                        log.bad_signatures += 1
                    self._answer(401)
                    return
                hold = False
                with log.lock:
                    log.transmissions[key] += 1
                    if log.status == 200 and key not in log.delivered:
                        log.delivered[key] = json.loads(body)
                        hold = log.hold_after is not None and len(log.delivered) > log.hold_after
                if hold:
                    log.holding.set()
                    log.release.wait(60)
                    return  # no answer: the connection dies with the sender
                self._answer(log.status)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/carepath"

    def __enter__(self) -> WebhookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.log.release.set()
        self.server.shutdown()
        self.server.server_close()
