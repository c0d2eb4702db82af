"""What every channel shares: the error type and the words of a reminder."""

from __future__ import annotations

from models.repositories.outbox import OutboundMessage

REASONS = {
    "due": "Task due",
    "overdue": "Task overdue",
    "escalation": "Task escalated to you",
}


class ChannelError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def subject(message: OutboundMessage) -> str:
    p = message.payload
    return f"[carepath] {REASONS.get(message.reason, message.reason)}: {p.get('title', 'a task')}"


def describe(message: OutboundMessage) -> str:
    """The reminder as plain text: the task, its rule and due time; never patient identifiers."""
    p = message.payload
    lines = [
        subject(message).removeprefix("[carepath] "),
        "",
        f"Task {p.get('task_id')}: {p.get('title')}",
        f"Rule: {p.get('rule_id')}",
        f"Queue: {p.get('role')}",
        f"Due: {p.get('due')}",
    ]
    if message.reason == "escalation":
        lines.append(f"Escalation level: {p.get('escalation_level')}")
    lines += ["", f"Open it in carepath: /tasks/{p.get('task_id')}", ""]
    return "\n".join(lines)
