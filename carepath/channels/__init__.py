"""Reminder channels: how an outbox row leaves the building.

Each channel sends one ``OutboundMessage`` and carries its idempotency key to
the receiver (a ``Message-ID`` and header for SMTP, an ``Idempotency-Key``
header for webhooks, the file name for the local sink), so a receiver can drop
the repeat that a crash mid-send may cause. IO sits behind an injectable
transport (an SMTP connection factory, an httpx transport), so tests talk to
real local servers or fakes without monkeypatching.

Errors::

    ChannelError            a send that did not happen
        permanent = True    the receiver refused for good (5xx SMTP reply,
                            4xx webhook status): the dispatcher gives up
        permanent = False   worth another try later (connection refused,
                            timeout, 4xx SMTP reply, 5xx/429 webhook status)
"""

from carepath.channels.base import ChannelError, describe
from carepath.channels.filesink import FileSink
from carepath.channels.routing import build_channels, routes_from_settings
from carepath.channels.smtp import SmtpChannel
from carepath.channels.webhook import WebhookChannel, sign

__all__ = [
    "ChannelError",
    "FileSink",
    "SmtpChannel",
    "WebhookChannel",
    "build_channels",
    "describe",
    "routes_from_settings",
    "sign",
]
