"""Which channels exist and where each role's reminders go, from the settings."""

from __future__ import annotations

from carepath.channels.filesink import FileSink
from carepath.channels.smtp import SmtpChannel
from carepath.channels.webhook import WebhookChannel
from carepath.settings import Settings
from flows.runtime import Channel
from models.repositories.reminders import Route

ROLES = ("coordinator", "clinician")
CHANNELS = ("smtp", "webhook", "file")


def routes_from_settings(settings: Settings) -> tuple[Route, ...]:
    """``reminder_routes`` as given, or: each role to the file sink or SMTP, and the webhook if set."""
    if settings.reminder_routes:
        return tuple(
            Route(role, *entry.split(":", 1))
            for role, entries in sorted(settings.reminder_routes.items())
            for entry in entries
        )
    domain = settings.smtp_sender.rpartition("@")[2] or "localhost"
    routes: list[Route] = []
    for role in ROLES:
        if settings.reminder_sink_dir is not None:
            routes.append(Route(role, "file", f"{role}s"))
        else:
            routes.append(Route(role, "smtp", f"{role}s@{domain}"))
        if settings.webhook_url:
            routes.append(Route(role, "webhook", role))
    return tuple(routes)


def build_channels(settings: Settings) -> dict[str, Channel]:
    channels: dict[str, Channel] = {
        "smtp": SmtpChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            timeout=settings.send_timeout_seconds,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            ca_file=settings.smtp_ca_file,
        )
    }
    if settings.webhook_url:
        channels["webhook"] = WebhookChannel(
            url=settings.webhook_url,
            secret=settings.webhook_secret,
            timeout=settings.send_timeout_seconds,
        )
    if settings.reminder_sink_dir is not None:
        channels["file"] = FileSink(settings.reminder_sink_dir)
    return channels
