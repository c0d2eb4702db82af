"""The exception tree of the clinical engine.

    PathwayError                      anything the engine refuses
    ├── DefinitionError               a pathway definition is invalid (lists every problem)
    ├── CaseFormatError               a case file is invalid (names every bad field)
    ├── UnknownEvent                  an event the machine does not know
    └── TransitionNotAllowed          a known event that does not apply now
            (patient, event, phase, and the guard that refused it, if any)

The CLI maps these to exit code 2, the API to 4xx problem documents. No error
message carries patient data beyond the internal patient id.
"""

from __future__ import annotations

from typing import Self


class PathwayError(Exception):
    """Base class of every refusal of the clinical engine."""


class DefinitionError(PathwayError):
    def __init__(self, name: str, problems: list[str]) -> None:
        self.name = name
        self.problems = list(problems)
        listing = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            f"pathway definition {name!r} is invalid ({len(self.problems)} problems):\n{listing}"
        )


class CaseFormatError(PathwayError):
    """``field`` and ``problem`` name the first problem; ``problems`` holds every one, by field."""

    def __init__(self, field: str, problem: str, *, problems: dict[str, str] | None = None) -> None:
        self.field = field
        self.problem = problem
        self.problems = dict(problems) if problems else {field: problem}
        super().__init__("; ".join(f"{f}: {p}" for f, p in self.problems.items()))

    @classmethod
    def of(cls, problems: dict[str, str]) -> Self:
        field, problem = next(iter(problems.items()))
        return cls(field, problem, problems=problems)


class UnknownEvent(PathwayError):
    def __init__(self, event: str, known: list[str]) -> None:
        self.event = event
        self.known = known
        super().__init__(f"unknown event {event!r}; known events: {', '.join(sorted(known))}")


class TransitionNotAllowed(PathwayError):
    def __init__(
        self,
        patient: str | int | None,
        event: str,
        phase: str,
        reason: str | None = None,
    ) -> None:
        self.patient = patient
        self.event = event
        self.phase = phase
        self.reason = reason
        who = f"patient {patient}" if patient is not None else "this patient"
        message = f"event {event!r} is not allowed for {who} in phase {phase!r}"
        if reason:
            message += f": {reason}"
        super().__init__(message)
