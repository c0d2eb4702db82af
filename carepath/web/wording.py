"""Task wording for people: one sentence for a task's window, statuses in plain words.

Every page that shows a window calls ``window_sentence``; FHIR's status codes
("accepted", "requested") stay in the data and the API, never on a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Any

from pathways.definition import RuleInfo, load_catalogue
from pathways.vocab import TaskStatus

STATUS_WORDS = {
    TaskStatus.REQUESTED.value: "open",
    TaskStatus.ACCEPTED.value: "claimed",
    TaskStatus.IN_PROGRESS.value: "in progress",
    TaskStatus.ON_HOLD.value: "on hold",
    TaskStatus.COMPLETED.value: "done",
    TaskStatus.CANCELLED.value: "closed",
}


def day_words(day: date) -> str:
    """``Fri 4 Dec``."""
    return f"{day:%a} {day.day} {day:%b}"


def window_sentence(start: date, due: date, end: date) -> str:
    """``due Fri 4 Dec; can be done from Fri 27 Nov; missed after Fri 11 Dec``."""
    parts = [f"due {day_words(due)}"]
    if start < due:
        parts.append(f"can be done from {day_words(start)}")
    parts.append(f"missed after {day_words(end)}")
    return "; ".join(parts)


def task_window(task: Any) -> str:
    """The window sentence of a task row or object (``window_start``, ``due_date``, ``window_end``)."""
    return window_sentence(task.window_start, task.due_date, task.window_end)


def status_words(status: Any) -> str:
    value = str(getattr(status, "value", status))
    return STATUS_WORDS.get(value, value.replace("-", " "))


@cache
def rules_catalogue() -> Mapping[str, RuleInfo]:
    """The clinical rules catalogue the app carries (generated from RULES.md)."""
    return load_catalogue()


def rule_source(rule_id: str) -> str:
    """What a rule id's link says on hover and in print: its RULES.md section and sources."""
    info = rules_catalogue().get(rule_id)
    if info is None:
        return ""
    sources = "; ".join(info.sources)
    return f"RULES.md §{info.section}" + (f": {sources}" if sources else "")
