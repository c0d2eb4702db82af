"""`carepath transition ID EVENT --actor USER --reason`: the clinician's phase change.

``--actor`` is the user name of an active clinician account (who confirms a
phase change in the web app too), and the audit records that account and the
credential it came with: ``cli`` (the shell of the server), or ``cli password``
with ``--response``, where the clinician signs a category: their password is
asked for (hidden) and checked like any signature (``carepath.reauth.step_up``:
wrong passwords count toward the account's lockout). Nothing is recorded in a
name that is no account, and nothing is signed by one that did not re-authenticate.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from carepath.cli.common import account, console, db_session, fail, settings_or_fail
from carepath.timeutil import clinic_today
from pathways.vocab import Role


def transition(
    patient_id: Annotated[int, typer.Argument(help="Internal patient id.")],
    event: Annotated[str, typer.Argument(help="Event name, e.g. complete_workup.")],
    actor: Annotated[
        str, typer.Option(help="User name of the clinician who confirms the transition.")
    ],
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
    signer_password = None
    if signed is not None:
        signer_password = typer.prompt(
            f"Password of {actor.strip()} (to sign {signed.value})", hide_input=True, err=True
        )
    try:
        with db_session() as session:
            signature = None
            if signed is not None:
                signature, signer = _step_up(session, actor, signer_password or "", settings)
            else:
                signer = _clinician(session, actor).actor("cli")
            definition = active_definition()
            result = apply_transition(
                session,
                patient_id=patient_id,
                event=event,
                actor=signer,
                reason=reason,
                definition=definition,
                as_of=day,
                timezone=settings.timezone,
                signed_response=signed,
                signature=signature,
            )
    except (PathwayError, PatientNotFound) as exc:
        fail(str(exc))
    console.print(
        f"patient {result.patient_id}: {result.track} {result.from_state} -> "
        f"[bold]{result.to_state}[/] ({result.event}; {', '.join(result.rule_ids)})"
    )


def _step_up(session: Any, actor: str, password: str, settings: Any) -> tuple[Any, Any]:
    """The signer's Signature and Actor, or exit 2 naming what is wrong (nothing written)."""
    from carepath.reauth import Lockout, SignatureRefused, step_up
    from carepath.timeutil import now

    principal = _clinician(session, actor, credential="cli password")
    try:
        signature = step_up(
            session,
            principal=principal,
            password=password,
            attested=True,  # the prompt names who signs what
            now=now(),
            lockout=Lockout.of(settings),
            channel="cli",
        )
    except SignatureRefused as exc:
        fail(str(exc))
    return signature, principal.actor("cli")


def _clinician(session: Any, actor: str, credential: str = "cli") -> Any:
    """The Principal of ``actor``'s active clinician account, or exit 2 saying why not."""
    return account(
        session, actor, roles=(Role.CLINICIAN,), doing="a phase change", credential=credential
    )
