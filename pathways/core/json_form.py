"""The one JSON form of engine values: what is stored is what a fingerprint hashes.

``canonical`` turns the values the engine decides with (enums, instants,
dates, sets, dataclasses) into plain JSON data. ``models`` stores alert
inputs and task details in this form, and ``pathways.alert_identity`` hashes
it, so an alert's inputs read back from storage have the fingerprint they had
when it was raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

__all__ = ["canonical"]


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data: enums by value, instants in UTC, dates ISO, sets sorted."""
    if value is None or isinstance(value, bool | int | float | str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((canonical(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {name: canonical(getattr(value, name)) for name in value.__dataclass_fields__}
    return str(value)
