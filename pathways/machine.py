"""A finite state machine compiled from a pathway definition.

States and events come from the definition file (data), guards from
``pathways.guards`` (code). The machine is checked when it is built — one
initial state, every state reachable, no trap state that is not declared
final — and firing an event is pure: it returns the new state or raises
``TransitionNotAllowed``; the caller persists the phase event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pathways.errors import TransitionNotAllowed, UnknownEvent
from pathways.facts import CaseFacts
from pathways.guards import GUARDS, Guard


@dataclass(frozen=True, slots=True)
class Transition:
    event: str
    sources: tuple[str, ...]
    target: str
    rule_ids: tuple[str, ...]
    guards: tuple[Guard, ...] = ()
    title: str = ""
    # True when the transition itself is local policy, not source content.
    default: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    source: str
    target: str
    transition: Transition


@dataclass(frozen=True, slots=True)
class Machine:
    name: str
    states: Mapping[str, Mapping[str, object]]
    initial: str
    finals: frozenset[str]
    transitions: tuple[Transition, ...]

    @property
    def events(self) -> list[str]:
        return sorted({t.event for t in self.transitions})

    def allowed(self, state: str, facts: CaseFacts | None = None) -> list[Transition]:
        """Transitions that leave ``state``; with facts, only those whose guards pass."""
        found = [t for t in self.transitions if state in t.sources]
        if facts is None:
            return found
        return [t for t in found if all(g.test(facts) for g in t.guards)]

    def fire(
        self,
        state: str,
        event: str,
        facts: CaseFacts,
        *,
        patient: str | int | None = None,
    ) -> Outcome:
        candidates = [t for t in self.transitions if t.event == event]
        if not candidates:
            raise UnknownEvent(event, self.events)
        from_here = [t for t in candidates if state in t.sources]
        if not from_here:
            targets = sorted({s for t in candidates for s in t.sources})
            raise TransitionNotAllowed(
                patient, event, state, f"it applies only from {', '.join(targets)}"
            )
        refusals: list[str] = []
        for transition in from_here:
            failed = [g for g in transition.guards if not g.test(facts)]
            if not failed:
                return Outcome(state, transition.target, transition)
            refusals.append(
                "; ".join(f"requires {g.requires} ({', '.join(g.rule_ids)})" for g in failed)
            )
        raise TransitionNotAllowed(patient, event, state, " | ".join(refusals))


def check_machine(
    name: str,
    states: Iterable[str],
    initial: str,
    finals: Iterable[str],
    transitions: Iterable[tuple[str, Iterable[str], str, Iterable[str]]],
) -> list[str]:
    """Problems of a machine's shape; ``transitions`` are (event, sources, target, guards)."""
    problems: list[str] = []
    known = set(states)
    finals = set(finals)
    if initial not in known:
        problems.append(f"{name}: initial state {initial!r} is not a declared state")
    for final in sorted(finals - known):
        problems.append(f"{name}: final state {final!r} is not a declared state")
    edges = _edges(name, known, transitions, problems)
    if initial in known:
        for state in sorted(known - _reachable(initial, known, edges)):
            problems.append(f"{name}: state {state!r} is unreachable from {initial!r}")
    for state in sorted(known - finals):
        if not edges.get(state):
            problems.append(f"{name}: state {state!r} is a trap (no way out and not final)")
    for final in sorted(finals & known):
        if edges.get(final):
            problems.append(f"{name}: final state {final!r} has outgoing transitions")
    return problems


def _edges(
    name: str,
    known: set[str],
    transitions: Iterable[tuple[str, Iterable[str], str, Iterable[str]]],
    problems: list[str],
) -> dict[str, set[str]]:
    """Each known state's targets; a transition naming what is not declared is a problem."""
    edges: dict[str, set[str]] = {state: set() for state in known}
    for event, sources, target, guards in transitions:
        for guard in guards:
            if guard not in GUARDS:
                problems.append(f"{name}: event {event!r} names unknown guard {guard!r}")
        if target not in known:
            problems.append(f"{name}: event {event!r} leads to unknown state {target!r}")
        for source in sources:
            if source not in known:
                problems.append(f"{name}: event {event!r} leaves unknown state {source!r}")
            else:
                edges[source].add(target)
    return edges


def _reachable(initial: str, known: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen = {initial}
    frontier = [initial]
    while frontier:
        for nxt in edges.get(frontier.pop(), ()):
            if nxt in known and nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen
