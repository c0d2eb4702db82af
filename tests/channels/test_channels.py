"""The channels against real local receivers: an SMTP conversation, a signed webhook POST, files."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import httpx
import pytest

from carepath.channels import ChannelError, FileSink, SmtpChannel, WebhookChannel, sign
from models.repositories.outbox import OutboundMessage
from tests.channels.receivers import Credentials, SmtpServer, WebhookServer, self_signed_certificate

SECRET = "test-webhook-secret"


def message(n: int = 1, recipient: str = "coordinators@clinic.test") -> OutboundMessage:
    return OutboundMessage(
        reminder_id=n,
        task_id=100 + n,
        reason="due",
        channel="smtp",
        recipient=recipient,
        idempotency_key=f"t{100 + n}:due:20261028T040000Z:smtp:abc",
        payload={
            "task_id": 100 + n,
            "title": "LFT panel before dose",
            "rule_id": "INO-05",
            "role": "coordinator",
            "due": "2026-10-28T04:00:00+00:00",
        },
        attempt=1,
    )


def test_smtp_is_a_real_conversation_with_the_key_as_message_id() -> None:
    with SmtpServer() as server:
        channel = SmtpChannel(host="127.0.0.1", port=server.port, sender="carepath@clinic.test")
        for n in (1, 2, 3):
            assert channel.send(message(n)).startswith("smtp <")
        channel.close()
    inbox = server.inbox
    assert inbox.sessions == 1  # one connection for the batch
    assert len(inbox.delivered) == 3
    mail = inbox.delivered[message(1).idempotency_key]
    assert mail["To"] == "coordinators@clinic.test"
    assert mail["From"] == "carepath@clinic.test"
    assert mail["Subject"] == "[carepath] Task due: LFT panel before dose"
    assert mail["Message-ID"].endswith("@carepath>")
    body = mail.get_payload()
    assert "Task 101: LFT panel before dose" in body and "INO-05" in body


def test_smtp_refusals_are_permanent_and_connection_errors_are_not() -> None:
    with SmtpServer() as server:
        server.inbox.refuse.add("nobody@clinic.test")
        channel = SmtpChannel(host="127.0.0.1", port=server.port, sender="carepath@clinic.test")
        with pytest.raises(ChannelError) as refused:
            channel.send(message(1, "nobody@clinic.test"))
        assert refused.value.permanent
        assert channel.send(message(2))  # the channel reconnects after an error
        channel.close()
        port = server.port
    down = SmtpChannel(host="127.0.0.1", port=port, sender="x@y", timeout=2)
    with pytest.raises(ChannelError) as unreachable:
        down.send(message(3))
    assert not unreachable.value.permanent


def test_smtp_starttls_and_auth_protect_the_conversation(tmp_path: Path) -> None:
    """STARTTLS before anything is said, the certificate checked, then AUTH, then the mail."""
    certificate = self_signed_certificate(tmp_path)
    credentials = Credentials("carepath", "relay-secret")
    with SmtpServer(certificate=certificate, credentials=credentials) as server:
        channel = SmtpChannel(
            host="localhost",
            port=server.port,
            sender="carepath@clinic.test",
            security="starttls",
            username="carepath",
            password="relay-secret",
            ca_file=certificate[0],
        )
        assert channel.send(message(1)).startswith("smtp <")
        session = channel._smtp
        assert session is not None and isinstance(session.sock, ssl.SSLSocket)
        assert session.sock.version() in ("TLSv1.2", "TLSv1.3")
        channel.close()
        assert credentials.attempts == [("carepath", True)]
        assert [str(m["Idempotency-Key"]) for m in server.inbox.messages] == [
            message(1).idempotency_key
        ]

        # A wrong password is refused by the relay: nothing delivered.
        wrong = SmtpChannel(
            host="localhost",
            port=server.port,
            sender="carepath@clinic.test",
            security="starttls",
            username="carepath",
            password="guess",
            ca_file=certificate[0],
        )
        with pytest.raises(ChannelError):
            wrong.send(message(2))
        assert ("carepath", False) in credentials.attempts

        # A certificate the channel cannot verify (the system CAs): nothing is sent.
        unverified = SmtpChannel(
            host="localhost", port=server.port, sender="carepath@clinic.test", security="starttls"
        )
        with pytest.raises(ChannelError, match="SSLCertVerificationError"):
            unverified.send(message(3))
        # A server that demands TLS refuses a plain conversation.
        plain = SmtpChannel(host="localhost", port=server.port, sender="carepath@clinic.test")
        with pytest.raises(ChannelError):
            plain.send(message(4))
    assert len(server.inbox.messages) == 1


def test_smtp_starttls_refuses_a_server_that_does_not_offer_it() -> None:
    """No silent fall-back to plain text (a stripped STARTTLS is a downgrade attack)."""
    with SmtpServer() as server:
        channel = SmtpChannel(
            host="127.0.0.1", port=server.port, sender="carepath@clinic.test", security="starttls"
        )
        with pytest.raises(ChannelError, match="does not offer STARTTLS"):
            channel.send(message(1))
    assert server.inbox.messages == []


def test_the_settings_reach_the_smtp_channel(tmp_path: Path) -> None:
    from carepath.channels import build_channels
    from carepath.settings import Settings

    certificate = self_signed_certificate(tmp_path)
    credentials = Credentials("relay-user", "relay-pass")
    with SmtpServer(certificate=certificate, credentials=credentials) as server:
        settings = Settings(
            smtp_host="localhost",
            smtp_port=server.port,
            smtp_username="relay-user",
            smtp_password="relay-pass",
            smtp_ca_file=certificate[0],
        )
        assert settings.smtp_security == "starttls"  # the default
        channel = build_channels(settings)["smtp"]
        channel.send(message(1))
        channel.close()
    assert credentials.attempts == [("relay-user", True)]
    assert len(server.inbox.messages) == 1


def test_webhook_posts_signed_canonical_json_with_the_idempotency_key() -> None:
    with WebhookServer(SECRET) as receiver:
        channel = WebhookChannel(url=receiver.url, secret=SECRET)
        assert channel.send(message(1)) == "webhook 200"
        assert channel.send(message(1)) == "webhook 200"  # a repeat is accepted...
        channel.close()
    log = receiver.log
    key = message(1).idempotency_key
    assert log.transmissions[key] == 2 and list(log.delivered) == [key]  # ...and dropped
    assert log.bad_signatures == 0
    body = log.delivered[key]
    assert body["task"]["rule_id"] == "INO-05" and body["reason"] == "due"


def test_webhook_statuses_map_to_retry_or_give_up() -> None:
    def answer(status: int) -> WebhookChannel:
        transport = httpx.MockTransport(lambda request: httpx.Response(status))
        return WebhookChannel(url="http://receiver.test/hook", secret=SECRET, transport=transport)

    assert answer(204).send(message()) == "webhook 204"
    assert answer(409).send(message()) == "webhook 409"  # "already have it"
    for status, permanent in ((500, False), (503, False), (429, False), (400, True), (404, True)):
        with pytest.raises(ChannelError) as err:
            answer(status).send(message())
        assert err.value.permanent is permanent, status


def test_webhook_signature_is_hmac_sha256_over_the_exact_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    WebhookChannel(
        url="http://receiver.test/hook", secret=SECRET, transport=httpx.MockTransport(handler)
    ).send(message())
    request = seen[0]
    assert request.headers["X-Carepath-Signature"] == sign(SECRET, request.content)
    assert request.headers["Idempotency-Key"] == message().idempotency_key
    assert json.loads(request.content)["idempotency_key"] == message().idempotency_key
    assert sign("other", request.content) != request.headers["X-Carepath-Signature"]


def test_the_file_sink_writes_each_key_once(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    first = sink.send(message(1))
    again = sink.send(message(1))
    assert first is not None and again is not None and "already there" in again
    files = list(tmp_path.rglob("*.json"))
    assert len(files) == 1 and files[0].parent.name == "coordinators@clinic.test"
    document = json.loads(files[0].read_text())
    assert document["task"]["task_id"] == 101 and "LFT panel" in document["text"]
