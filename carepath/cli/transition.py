"""`carepath transition ID EVENT --actor --reason`: the signed phase change."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from carepath.cli.common import cli_actor, console, db_session, fail, settings_or_fail
from carepath.timeutil import clinic_today


def transition(
    patient_id: Annotated[int, typer.Argument(help="Internal patient id.")],
    event: Annotated[str, typer.Argument(help="Event name, e.g. complete_workup.")],
    actor: Annotated[str, typer.Option(help="The clinician who confirms the transition.")],
    reason: Annotated[str, typer.Option(help="Why (kept on the phase event).")],
    response: Annotated[
        str | None,
        typer.Option(help="Response category the clinician signs with this transition (RESP-04)."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Clinic date, YYYY-MM-DD (default today).")
    ] = None,
) -> None:
    """Apply a phase transition; refused transitions change nothing."""
    from carepath.pathway import active_definition
    from models.repositories.patients import PatientNotFound
    from models.repositories.transitions import apply_transition
    from pathways.errors import PathwayError
    from pathways.vocab import ResponseCategory

    settings = settings_or_fail()
    if not actor.strip():
        fail("actor: must not be blank")
    signed = None
    if response is not None:
        try:
            signed = ResponseCategory(response)
        except ValueError:
            fail(
                f"response: unknown category {response!r} "
                f"(one of {', '.join(c.value for c in ResponseCategory)})"
            )
    try:
        day = date.fromisoformat(as_of) if as_of else clinic_today(settings.timezone)
    except ValueError:
        fail(f"as-of: {as_of!r} is not a date (YYYY-MM-DD)")
    try:
        with db_session() as session:
            definition = active_definition()
            result = apply_transition(
                session,
                patient_id=patient_id,
                event=event,
                actor=cli_actor(actor.strip(), "clinician"),
                reason=reason,
                definition=definition,
                as_of=day,
                timezone=settings.timezone,
                signed_response=signed,
            )
    except (PathwayError, PatientNotFound) as exc:
        fail(str(exc))
    console.print(
        f"patient {result.patient_id}: {result.track} {result.from_state} -> "
        f"[bold]{result.to_state}[/] ({result.event}; {', '.join(result.rule_ids)})"
    )
