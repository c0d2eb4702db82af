"""Reminders by email: a real SMTP conversation through ``smtplib``.

One connection is opened on first use and reused for the batch; ``close``
ends it with QUIT. The idempotency key becomes the ``Message-ID`` (and an
``Idempotency-Key`` header), so a mail system that deduplicates on it drops a
repeat. A 5xx reply is permanent, anything else is worth retrying.
"""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate

from carepath.channels.base import ChannelError, describe, subject
from models.repositories.outbox import OutboundMessage

Connect = Callable[[], smtplib.SMTP]


class SmtpChannel:
    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        timeout: float = 10.0,
        connect: Connect | None = None,
    ) -> None:
        self.sender = sender
        self._connect = connect or (lambda: smtplib.SMTP(host, port, timeout=timeout))
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: OutboundMessage) -> str | None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = subject(message)
        email["Date"] = formatdate(usegmt=True)
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:40]
        email["Message-ID"] = f"<{digest}@carepath>"
        email["Idempotency-Key"] = message.idempotency_key
        email.set_content(describe(message))
        try:
            smtp = self._session()
            refused = smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            self._drop()
            raise ChannelError("recipient refused", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise ChannelError(
                f"SMTP reply {exc.smtp_code}", permanent=500 <= exc.smtp_code < 600
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise ChannelError(f"SMTP: {type(exc).__name__}") from exc
        if refused:
            raise ChannelError("recipient refused", permanent=True)
        return f"smtp {email['Message-ID']}"

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _session(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None
