"""`carepath patient add | list | show` and `carepath course start`."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.panel import Panel
from rich.table import Table

from carepath.cli.common import (
    account,
    cli_actor,
    console,
    db_session,
    fail,
    fail_fields,
    settings_or_fail,
)
from carepath.intake import (
    case_document_from_options,
    observations_from_facts,
    parse_intake,
)
from carepath.timeutil import clinic_today, now
from models.base import require_id
from models.repositories.audit import Actor
from pathways.core.field_errors import field_errors
from pathways.definition import Definition
from pathways.engine import decode_case
from pathways.errors import CaseFormatError, ContradictoryFacts

if TYPE_CHECKING:
    from models.repositories.patients import PatientIntake
    from pathways.facts import CaseFacts

patient_app = typer.Typer(help="Add, list and show patients.", no_args_is_help=True)
course_app = typer.Typer(help="Record courses of treatment.", no_args_is_help=True)


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _definition() -> Definition:
    from carepath.pathway import active_definition

    return active_definition()


IDENTITY = ("mrn", "display_name")
# The option of each field whose name differs from --field-name (case path's last part).
OPTION_OF = {
    "display_name": "--name",
    "sex_at_birth": "--sex",
    "adolescent_confirmed": "--confirm-adolescent",
    "ph_positive": "--ph-positive",
    "abl1_kinase_mutations": "--abl1-mutations",
    "kmt2a_rearranged": "--kmt2a",
    "testicular_involvement": "--testicular",
    "initial_diagnosis_date": "--initial-diagnosis",
    "initial_treatment_start_date": "--initial-treatment",
    "relapse_dates": "--relapses",
    "prior_allogeneic_hct_date": "--prior-hct",
    "category": "--fitness",
}


# The case field each option of ``patient add`` fills (``--case`` reads them all from a file).
CASE_FIELD_OF_OPTION = {
    "birth_date": "birth_date",
    "confirm_adolescent": "adolescent_confirmed",
    "sex": "sex_at_birth",
    "has_testes": "has_testes",
    "reproductive_potential": "reproductive_potential",
    "weight_kg": "weight_kg",
    "height_cm": "height_cm",
    "lineage": "lineage",
    "cd19": "cd19",
    "cd22": "cd22",
    "cd20": "cd20",
    "ph": "ph_positive",
    "abl1_mutations": "abl1_kinase_mutations",
    "kmt2a": "kmt2a_rearranged",
    "cns_status": "cns_status",
    "testicular": "testicular_involvement",
    "marrow_blast_pct": "marrow_blast_pct",
    "peripheral_blasts_per_ul": "peripheral_blasts_per_ul",
    "status": "status",
    "initial_diagnosis": "initial_diagnosis_date",
    "initial_treatment": "initial_treatment_start_date",
    "relapses": "relapse_dates",
    "prior_therapies": "prior_therapies",
    "prior_hct": "prior_allogeneic_hct_date",
    "fitness": "category",
    "ecog": "ecog",
    "hct_eligible": "hct_eligible",
    "goal": "goal",
}
# Fields typed as one comma-separated option.
LISTED_FIELDS = ("abl1_kinase_mutations", "relapse_dates", "prior_therapies")


def _option(path: str) -> str:
    """The option a problem's field came from (``history.relapse_dates[0]`` -> ``--relapses``)."""
    last = re.sub(r"\[\d+\]$", "", path.split(".")[-1])
    option = OPTION_OF.get(last, "--" + last.replace("_", "-"))
    return option if path in IDENTITY or "." in path else path


@patient_app.command("add")
def add(
    ctx: typer.Context,
    mrn: Annotated[str, typer.Option(help="Medical record number (unique).")],
    name: Annotated[str, typer.Option(help="Display name.")],
    case: Annotated[
        Path | None, typer.Option(help="Read the facts from a carepath.case/1 file.", exists=False)
    ] = None,
    birth_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    sex: Annotated[str | None, typer.Option(help="male | female | other")] = None,
    has_testes: Annotated[bool | None, typer.Option("--has-testes/--no-testes")] = None,
    reproductive_potential: Annotated[
        bool | None, typer.Option("--reproductive-potential/--no-reproductive-potential")
    ] = None,
    weight_kg: Annotated[float | None, typer.Option()] = None,
    height_cm: Annotated[float | None, typer.Option()] = None,
    lineage: Annotated[str | None, typer.Option(help="B | T")] = None,
    cd19: Annotated[str | None, typer.Option(help="positive | negative")] = None,
    cd22: Annotated[str | None, typer.Option(help="positive | negative")] = None,
    cd20: Annotated[str | None, typer.Option(help="positive | negative")] = None,
    ph: Annotated[bool | None, typer.Option("--ph-positive/--ph-negative")] = None,
    abl1_mutations: Annotated[
        str | None, typer.Option(help="Comma-separated ABL1 mutations; '' = tested, none")
    ] = None,
    kmt2a: Annotated[bool | None, typer.Option("--kmt2a/--no-kmt2a")] = None,
    cns_status: Annotated[str | None, typer.Option(help="negative | involved")] = None,
    testicular: Annotated[bool | None, typer.Option("--testicular/--no-testicular")] = None,
    marrow_blast_pct: Annotated[float | None, typer.Option()] = None,
    peripheral_blasts_per_ul: Annotated[float | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="relapsed | refractory")] = None,
    initial_diagnosis: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    initial_treatment: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    relapses: Annotated[str | None, typer.Option(help="Comma-separated relapse dates")] = None,
    prior_therapies: Annotated[
        str | None, typer.Option(help="Comma-separated; '' = recorded as none")
    ] = None,
    prior_hct: Annotated[str | None, typer.Option(help="Date of prior allogeneic HCT")] = None,
    fitness: Annotated[str | None, typer.Option(help="fit | less_fit | frail")] = None,
    ecog: Annotated[int | None, typer.Option()] = None,
    hct_eligible: Annotated[str | None, typer.Option(help="yes | no | pending")] = None,
    goal: Annotated[str | None, typer.Option(help="cure | symptom_relief")] = None,
    confirm_adolescent: Annotated[
        bool,
        typer.Option(
            "--confirm-adolescent",
            help="Enrol a patient under the adult age in this adult pathway (a clinician is alerted).",
        ),
    ] = False,
) -> None:
    """Add a patient (from options, or from a case file with --case) at phase suspected_rr."""
    settings = settings_or_fail()
    definition = _definition()
    with _problems_named(from_options=case is None):
        if case is None:
            document = case_document_from_options(
                _case_fields(ctx.params),  # the options above, by parameter name
                as_of=clinic_today(settings.timezone).isoformat(),
                timezone=settings.timezone,
            )
        else:
            document = _read_case_file(case, confirm_adolescent=confirm_adolescent)
        facts, intake = parse_intake(
            document, mrn=mrn, display_name=name, definition=definition, now=now()
        )
    patient_id = _store_patient(intake, facts, definition)
    console.print(f"added patient [bold]{patient_id}[/] (phase suspected_rr)")
    if case is not None and (facts.treatment or facts.response_assessment):
        console.print(
            "note: the case file's treatment and response assessment are not imported; "
            "record them with `carepath course start` and a signed transition."
        )


def _case_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """The case's fields from ``patient add``'s options as typed (None: not given)."""
    fields = {field: options[option] for option, field in CASE_FIELD_OF_OPTION.items()}
    for field in LISTED_FIELDS:
        fields[field] = _split(fields[field])
    fields["adolescent_confirmed"] = fields["adolescent_confirmed"] or None
    return fields


def _read_case_file(case: Path, *, confirm_adolescent: bool) -> Any:
    """A carepath.case/1 file as decoded (``--confirm-adolescent`` applies to it too)."""
    if not case.is_file():
        fail(f"--case: file {str(case)!r} not found")
    document = decode_case(case.read_text(encoding="utf-8"))
    if confirm_adolescent and isinstance(document, dict) and document.get("patient"):
        document["patient"]["adolescent_confirmed"] = True
    return document


@contextmanager
def _problems_named(*, from_options: bool) -> Iterator[None]:
    """Fail with every intake problem at once, each under the name the user gave the field."""
    try:
        yield
    except CaseFormatError as exc:  # an IntakeError too
        # Options are named as typed; a case file's fields by their path in the file.
        fail_fields(
            {
                (_option(f) if from_options or f in IDENTITY else f): p
                for f, p in exc.problems.items()
            }
        )
    except ContradictoryFacts as exc:
        # Every contradiction at once, one line each naming all its fields.
        fail("\ncarepath: error: ".join(str(c) for c in exc.contradictions))


def _store_patient(intake: PatientIntake, facts: CaseFacts, definition: Definition) -> int:
    """Create the patient and their case's labs in one transaction; the new patient's id."""
    from models.repositories.observations import add_observations
    from models.repositories.patients import DuplicateMrn, create_patient

    actor = cli_actor()
    try:
        with db_session() as session:
            patient = create_patient(session, intake=intake, actor=actor, definition=definition)
            patient_id = require_id(patient)
            if facts.labs:
                add_observations(
                    session,
                    patient_id=patient_id,
                    observations=observations_from_facts(facts, source="case-file"),
                    actor=actor,
                )
    except DuplicateMrn as exc:
        fail_fields({"--mrn": exc.problems["mrn"]})
    return patient_id


@patient_app.command("list")
def list_(
    phase: Annotated[str | None, typer.Option(help="Only patients in this phase.")] = None,
    search: Annotated[str | None, typer.Option(help="Match name or MRN.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    include_inactive: Annotated[bool, typer.Option("--all")] = False,
) -> None:
    """List patients with their lineage and phase."""
    from models.repositories.patients import list_patients

    with db_session() as session:
        rows, total = list_patients(
            session,
            actor=cli_actor(),
            phase=phase,
            search=search,
            active_only=not include_inactive,
            limit=limit,
            offset=offset,
        )
    table = Table(title=f"Patients ({len(rows)} of {total})", title_justify="left")
    for column in ("ID", "MRN", "Name", "Born", "Lineage", "Phase", "Pathway"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r.id),
            r.mrn,
            r.display_name,
            r.birth_date.isoformat(),
            r.lineage or "?",
            r.phase or "-",
            r.pathway_version or "-",
        )
    console.print(table)


def _yn(value: object) -> str:
    if value is None:
        return "[dim]unknown[/]"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(getattr(value, "value", value))


@patient_app.command("show")
def show(patient_id: Annotated[int, typer.Argument(help="Internal patient id.")]) -> None:
    """Show one patient's facts, phase and history of phase events."""
    from models.repositories.patients import PatientNotFound, get_record

    try:
        with db_session() as session:
            rec = get_record(session, patient_id=patient_id, actor=cli_actor())
    except PatientNotFound as exc:
        fail(str(exc))
    p, d, h = rec.patient, rec.disease, rec.history
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("MRN", p.mrn)
    facts.add_row("Born", f"{p.birth_date.isoformat()}  sex {_yn(p.sex_at_birth)}")
    facts.add_row("Weight / height", f"{_yn(p.weight_kg)} kg / {_yn(p.height_cm)} cm")
    facts.add_row("Goal", _yn(p.goal))
    if d is not None:
        facts.add_row("Lineage", _yn(d.lineage))
        facts.add_row("CD19 / CD22 / CD20", f"{_yn(d.cd19)} / {_yn(d.cd22)} / {_yn(d.cd20)}")
        facts.add_row("Ph (BCR::ABL1)", _yn(d.ph_positive))
        facts.add_row(
            "ABL1 mutations",
            "not tested"
            if d.abl1_kinase_mutations is None
            else (", ".join(d.abl1_kinase_mutations) or "none found"),
        )
        facts.add_row("KMT2A rearranged", _yn(d.kmt2a_rearranged))
        facts.add_row("CNS / testicular", f"{_yn(d.cns_status)} / {_yn(d.testicular_involvement)}")
    if h is not None:
        facts.add_row("Status", _yn(h.status))
        facts.add_row("Initial diagnosis", _yn(h.initial_diagnosis_date))
        facts.add_row(
            "Relapses", ", ".join(r.relapse_date.isoformat() for r in rec.relapses) or "none"
        )
        facts.add_row(
            "Prior therapies",
            ", ".join(t.therapy for t in rec.prior_therapies)
            if h.prior_therapies_recorded
            else "[dim]not recorded[/]",
        )
        facts.add_row("Prior allogeneic HCT", _yn(h.prior_allogeneic_hct_date))
    if rec.fitness is not None:
        f = rec.fitness
        facts.add_row(
            "Fitness", f"{_yn(f.category)} (ECOG {_yn(f.ecog)}), HCT-eligible {_yn(f.hct_eligible)}"
        )
    if rec.medications:
        facts.add_row("Medications", ", ".join(m.name for m in rec.medications))
    phase = "-"
    if rec.instance is not None:
        i = rec.instance
        phase = (
            f"[bold]{i.phase}[/]  (pathway {i.pathway_name} {i.pathway_version}; "
            f"CNS track {i.cns_track}, testis track {i.testis_track})"
        )
    console.print(Panel(facts, title=f"Patient {p.id}: {p.display_name}", title_align="left"))
    console.print(f"Phase: {phase}")
    events = Table(title="Phase events", title_justify="left")
    for column in ("At (UTC)", "Track", "Event", "From", "To", "Actor", "Reason", "Rules"):
        events.add_column(column, overflow="fold")
    for e in rec.events:
        events.add_row(
            e.at.strftime("%Y-%m-%d %H:%M"),
            e.track,
            e.event,
            e.from_state or "-",
            e.to_state,
            e.actor,
            e.reason,
            ", ".join(e.rule_ids),
        )
    console.print(events)


@course_app.command("start")
def start(
    patient_id: Annotated[int, typer.Argument()],
    regimen: Annotated[str, typer.Option(help="An option id, e.g. blinatumomab.")],
    anchor: Annotated[
        str, typer.Option(help="Day 1 of the cycle (CAR-T: infusion day), YYYY-MM-DD")
    ],
    phase: Annotated[
        str, typer.Option(help="prephase | induction | consolidation | maintenance")
    ] = "induction",
    cycle: Annotated[int, typer.Option(min=1)] = 1,
    prephase_start: Annotated[
        str | None,
        typer.Option(help="P1, the first pre-phase day before it (BLIN-01), YYYY-MM-DD"),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            help="Who records it: the user name of an active coordinator or clinician "
            "(default: the operator at this shell)."
        ),
    ] = None,
) -> None:
    """Record the cycle in progress (the previous active course of the patient ends).

    The patient's monitoring rules run at once on the new course: a blinatumomab
    C1_D1 before P8 is a critical alert from the day it is recorded (BLIN-01).
    """
    from carepath import timeutil
    from carepath.alerting import alerts_after_change
    from models.pathway import CourseCreate
    from models.repositories.consistency import require_consistent_patient
    from models.repositories.courses import start_course
    from models.repositories.patients import PatientNotFound
    from pathways.clock import local_date
    from pathways.vocab import OptionId

    if regimen not in {o.value for o in OptionId}:
        fail(f"regimen: unknown option id {regimen!r}")
    try:
        # Validated as typed: a phase outside the vocabulary is a field error.
        course = CourseCreate.model_validate(
            {
                "regimen": regimen,
                "phase": phase,
                "cycle_number": cycle,
                "anchor_date": date.fromisoformat(anchor),
            }
        )
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            fail_fields(field_errors(exc))
        fail(f"anchor: {exc}")
    if prephase_start is not None:
        try:
            course.prephase_start = date.fromisoformat(prephase_start)
        except ValueError:
            fail("prephase-start: must be a date, YYYY-MM-DD")
    settings = settings_or_fail()
    now = timeutil.now()
    try:
        with db_session() as session:
            who = cli_actor() if actor is None else _recorder(session, actor)
            row = start_course(session, patient_id=patient_id, course=course, actor=who)
            require_consistent_patient(
                session,
                patient_id=patient_id,
                as_of=local_date(now, settings.timezone),
                timezone=settings.timezone,
            )
            raised = alerts_after_change(
                session, settings, patient_ids=[patient_id], now=now, actor=who
            )
    except PatientNotFound as exc:
        fail(str(exc))
    except ContradictoryFacts as exc:
        fail("\ncarepath: error: ".join(str(c) for c in exc.contradictions))
    console.print(f"course {row.id}: {regimen} cycle {cycle} from {anchor}")
    if raised:
        console.print(f"{raised} new alert(s) for the clinician: see the patient page")


def _recorder(session: Any, actor: str) -> Actor:
    """The account a course is recorded under: a coordinator's or a clinician's."""
    from pathways.vocab import Role

    return account(
        session, actor, roles=(Role.COORDINATOR, Role.CLINICIAN), doing="recording a course"
    ).actor("cli")
