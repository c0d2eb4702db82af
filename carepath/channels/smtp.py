"""Reminders by email: a real SMTP conversation through ``smtplib``.

One connection is opened on first use and reused for the batch; ``close``
ends it with QUIT. ``security`` protects it: ``starttls`` (the default)
upgrades the conversation to TLS before anything else is said and refuses a
server that does not offer it (no silent fall-back to plain text), ``tls``
speaks TLS from the first byte (port 465), ``none`` is plain (a relay on the
same host). The server's certificate is checked against the system's CAs or
``ca_file``; with a username, the channel authenticates after TLS. The idempotency key becomes the ``Message-ID`` (and an
``Idempotency-Key`` header), so a mail system that deduplicates on it drops a
repeat. A 5xx reply is permanent, anything else is worth retrying.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Literal

from carepath.channels.base import ChannelError, describe, subject
from models.repositories.outbox import OutboundMessage

Connect = Callable[[], smtplib.SMTP]
Security = Literal["starttls", "tls", "none"]


class SmtpChannel:
    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        timeout: float = 10.0,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
        connect: Connect | None = None,
    ) -> None:
        self.sender = sender
        self._host, self._port, self._timeout = host, port, timeout
        self._security = security
        self._credentials = (username, password or "") if username else None
        self._ca_file = ca_file
        self._connect = connect or self._open
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self._ca_file)
        smtp: smtplib.SMTP
        if self._security == "tls":
            smtp = smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout, context=context)
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        try:
            if self._security == "starttls":
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise ChannelError("the SMTP server does not offer STARTTLS")
                smtp.starttls(context=context)
                smtp.ehlo()
            if self._credentials:
                smtp.login(*self._credentials)
        except BaseException:
            smtp.close()
            raise
        return smtp

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
        except ChannelError:
            self._drop()
            raise
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
