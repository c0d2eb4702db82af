"""Reminders as files: the demo's sink, and a harmless default for development.

Each reminder becomes ``<root>/<recipient>/<idempotency key>.json``, written
atomically and never twice: a repeat of the same key finds the file and does
nothing, which is exactly the receiver-side deduplication the other channels
ask of their receivers.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from carepath.channels.base import describe
from models.repositories.outbox import OutboundMessage

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


def _safe(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip("._") or "_"
    return cleaned[:120]


class FileSink:
    name = "file"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, message: OutboundMessage) -> Path:
        return self.root / _safe(message.recipient) / f"{_safe(message.idempotency_key)}.json"

    def send(self, message: OutboundMessage) -> str | None:
        path = self.path_for(message)
        if path.exists():
            return f"file {path.name} (already there)"
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "idempotency_key": message.idempotency_key,
            "reason": message.reason,
            "recipient": message.recipient,
            "task": message.payload,
            "text": describe(message),
        }
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, path)
        return f"file {path.name}"

    def close(self) -> None:
        return None
