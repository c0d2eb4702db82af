"""The engine's plan as care_task rows: the COPY text of each planned task, and its plan hash.

Planned tasks have the dedupe key ``p{patient}:{pathway version}:{engine key}``.
Tasks of other origins use other prefixes (``alert:``, ``resp:``, ``dq:``) so a
re-plan never cancels them. ``plan_writes`` writes these rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, auto
from typing import Any, Final, NamedTuple

from models.task_sql import PLANNED_COLUMNS
from pathways.core.json_form import canonical
from pathways.decisions import PlannedTask

PLANNED_PREFIX = "p"
KEY_MAX = 200


class InvalidPlan(ValueError):
    """The engine returned a task that cannot be stored (reported as a data problem)."""


@dataclass(frozen=True, slots=True)
class PatientPlan:
    """The engine's tasks for one patient, with the ids the rows link to."""

    patient_id: int
    pathway_version: str
    tasks: Sequence[PlannedTask]
    instance_id: int | None = None
    course_id: int | None = None


def planned_key(patient_id: int, pathway_version: str, engine_key: str) -> str:
    key = f"{PLANNED_PREFIX}{patient_id}:{pathway_version}:{engine_key}"
    if len(key) <= KEY_MAX:
        return key
    digest = hashlib.blake2b(engine_key.encode(), digest_size=12).hexdigest()
    return f"{PLANNED_PREFIX}{patient_id}:{pathway_version}:#{digest}"


class PlannedRow(NamedTuple):
    """One planned care_task row as a line of COPY text (without its bookkeeping columns)."""

    patient_id: int
    dedupe_key: str
    plan_hash: str
    # patient_id .. plan_hash in COPY_COLUMNS order, tab-separated, escaped for COPY text.
    line: str


# The COPY column order (models.task_sql.PLANNED_COLUMNS): the row's identity, its
# planned content (hashed), the hash, then the bookkeeping columns the writer appends.
COPY_COLUMNS = ", ".join(PLANNED_COLUMNS)
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def _text(value: str | None) -> str:
    if value is None:
        return NULL
    # translate() is slow; most values have nothing to escape.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPE)
    return value


def _num(value: int | None) -> str:
    return NULL if value is None else str(int(value))


def planned_rows(plan: PatientPlan, *, now: datetime) -> list[PlannedRow]:
    """The care_task rows of one patient's plan; raises ``InvalidPlan`` for a task that cannot be stored.

    This runs for every planned task of every patient on every re-plan, so it
    builds the COPY text directly: the planned content is formatted once,
    hashed as it stands (the plan hash) and written as it stands. The engine
    shares its date and instant objects between tasks and patients, so their
    text is looked up rather than formatted again (an aware ``isoformat`` is
    the dearest call here).
    """
    del now  # rows carry no bookkeeping time; the writer stamps it
    rows: list[PlannedRow] = []
    seen: set[str] = set()
    pid, version = plan.patient_id, plan.pathway_version
    prefix = f"{PLANNED_PREFIX}{pid}:{version}:"
    head = f"{pid}\t"
    links = f"{_text(version)}\t{_num(plan.instance_id)}\t{_num(plan.course_id)}\t"
    iso_dates, iso_instants = _iso_dates, _iso_instants
    if len(iso_dates) > _ISO_CACHE_MAX or len(iso_instants) > _ISO_CACHE_MAX:
        iso_dates.clear()
        iso_instants.clear()
    blake2b = hashlib.blake2b
    for task in plan.tasks:
        _check(task)
        key = prefix + task.key
        if len(key) > KEY_MAX:
            key = planned_key(pid, version, task.key)
        if key in seen:
            raise InvalidPlan(f"engine key {task.key!r} planned twice")
        seen.add(key)
        title = task.title if len(task.title) <= 240 else _clip(task.title, 240)
        section = task.section or ""
        if len(section) > 240:
            section = _clip(section, 240)
        dates = iso_dates.get((task.window_start, task.due_date, task.window_end))
        if dates is None:
            dates = iso_dates[(task.window_start, task.due_date, task.window_end)] = (
                f"{task.window_start.isoformat()}\t{task.due_date.isoformat()}\t"
                f"{task.window_end.isoformat()}"
            )
        # Keyed with the zone and fold: equal instants in other zones format otherwise.
        not_before, due, expires = task.not_before, task.due, task.expires
        instants_key = (
            not_before,
            due,
            expires,
            not_before.tzinfo,
            due.tzinfo,
            expires.tzinfo,
            not_before.fold,
            due.fold,
            expires.fold,
        )
        instants = iso_instants.get(instants_key)
        if instants is None:
            instants = iso_instants[instants_key] = (
                f"{not_before.isoformat()}\t{due.isoformat()}\t{expires.isoformat()}"
            )
        content = "\t".join(
            (
                str(task.kind),
                _text(task.rule_id),
                _text(title),
                _text(section),
                _text(task.regimen),
                _num(task.cycle),
                _num(task.day),
                dates,
                instants,
                "t" if task.safety else "f",
                str(task.role),
                _text(_result_fields_json(task.result_fields)),
                _text(_detail_json(task)),
            )
        )
        digest = blake2b((links + content).encode(), digest_size=16).hexdigest()
        rows.append(PlannedRow(pid, key, digest, f"{head}{_text(key)}\t{links}{content}\t{digest}"))
    return rows


# The COPY text of a task's window dates and of its instants: tasks of one
# template share them across patients. Bounded; cleared when full.
_iso_dates: dict[tuple[date, date, date], str] = {}
_iso_instants: dict[tuple[Any, ...], str] = {}
_ISO_CACHE_MAX = 50_000


def _check(task: PlannedTask) -> None:
    not_before, due, expires = task.not_before, task.due, task.expires
    if not_before.tzinfo is None or due.tzinfo is None or expires.tzinfo is None:
        raise InvalidPlan(f"task {task.key!r}: a window edge is not an aware instant")
    if not (not_before <= due <= expires):
        raise InvalidPlan(
            f"task {task.key!r}: window is not ordered (not_before <= due <= expires)"
        )
    if not (task.window_start <= task.due_date <= task.window_end):
        raise InvalidPlan(f"task {task.key!r}: window dates are not ordered")
    if not task.key or not task.rule_id or len(task.rule_id) > 16:
        raise InvalidPlan(f"task {task.key!r}: missing key or rule id")
    if task.regimen is not None and len(task.regimen) > 60:
        raise InvalidPlan(f"task {task.key!r}: regimen name too long")


def _detail_json(task: PlannedTask) -> str | None:
    """The task's detail as JSON text; most tasks share theirs with tasks of other patients."""
    key = _detail_key(task)
    if key is None:
        return _encode_detail(task)
    found = _detail_text.get(key, _MISSING)
    if found is _MISSING:
        if len(_detail_text) > _DETAIL_CACHE_MAX:
            _detail_text.clear()
        found = _detail_text[key] = _encode_detail(task)
    return found


class _Missing(Enum):
    """Not in the cache (a cached detail may itself be None)."""

    MISSING = auto()


_MISSING: Final = _Missing.MISSING
_detail_text: dict[tuple[Any, ...], str | None] = {}
_DETAIL_CACHE_MAX = 50_000
_EXACT = (str, int)


def _detail_key(task: PlannedTask) -> tuple[Any, ...] | None:
    """A key under which equal details always encode to equal text, or None (not cached).

    Only exact ``str`` and ``int`` values (and tuples of them) make a key:
    between those, equal means identical, whereas ``1 == 1.0 == True``
    would encode as three different texts. Floats, mappings and doses are
    encoded every time.
    """
    if task.dose is not None:
        return None
    for k, v in task.detail.items():
        kind = type(v)
        if type(k) is not str:
            return None
        if kind is tuple:
            for item in v:
                if type(item) not in _EXACT:
                    return None
        elif kind not in _EXACT:
            return None
    for extra in (task.panel, task.blocks):
        if extra is not None and type(extra) is not str:
            return None
    for name in task.defaults_used:
        if type(name) is not str:
            return None
    return (tuple(task.detail.items()), task.panel, task.blocks, task.defaults_used)


def _encode_detail(task: PlannedTask) -> str | None:
    detail: dict[str, Any] = dict(task.detail) if task.detail else {}
    if task.panel:
        detail["panel"] = task.panel
    if task.blocks:
        detail["blocks"] = task.blocks
    if task.dose is not None:
        detail["dose"] = jsonable(task.dose)
    if task.defaults_used:
        detail["defaults_used"] = list(task.defaults_used)
    if not detail:
        return None
    return _DETAIL_JSON.encode(detail)


def _json_default(value: Any) -> Any:
    return jsonable(value)


# json.dumps(detail, sort_keys=True, separators=(",", ":"), default=_json_default),
# without building an encoder for every task.
_DETAIL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_json_default)


_FIELDS_JSON: dict[tuple[str, ...], str | None] = {(): None}


def _result_fields_json(fields: tuple[str, ...]) -> str | None:
    found = _FIELDS_JSON.get(fields, "")
    if found == "":
        found = _FIELDS_JSON[fields] = json.dumps(list(fields))
    return found


def jsonable(value: Any) -> Any:
    """Engine values as JSON data (``pathways.core.json_form.canonical``, the one form)."""
    return canonical(value)


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
