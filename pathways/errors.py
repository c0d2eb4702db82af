"""The exception tree of the clinical engine.

    PathwayError                      anything the engine refuses
    ├── DefinitionError               a pathway definition is invalid (lists every problem)
    ├── CaseFormatError               a case file is invalid (names every bad field)
    ├── ContradictoryFacts            facts that cannot all be true (every contradiction, each
    │                                 naming its fields; pathways.consistency)
    ├── UnknownEvent                  an event the machine does not know
    └── TransitionNotAllowed          a known event that does not apply now
            (patient, event, phase, and the guard that refused it, if any)

The CLI maps these to exit code 2, the API to 4xx problem documents. No error
message carries patient data beyond the internal patient id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self


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


class ContradictoryFacts(PathwayError):
    """Facts that contradict each other; ``contradictions`` lists every one, in order.

    ``problems`` maps each field involved to the plain-words message of the
    first contradiction naming it (for forms and problem documents); the
    message of the exception is one line per contradiction.
    """

    def __init__(self, contradictions: Sequence[Any]) -> None:
        self.contradictions = list(contradictions)
        self.problems: dict[str, str] = {}
        for found in self.contradictions:
            for name in found.fields:
                self.problems.setdefault(name, found.message)
        self.field = next(iter(self.problems), "facts")
        super().__init__("\n".join(str(c) for c in self.contradictions))


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
