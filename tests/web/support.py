"""Shared by the web, API and browser tests: an app on a test database, users, and data builders.

Users sign in by a session started directly in the database (argon2 costs
tens of milliseconds per login; the sign-in form has tests of its own). The
app runs on a fixed clock in New York, a zone with DST.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from carepath.security import digest, hash_password, new_token, session_digest
from carepath.settings import Settings
from carepath.web.app import create_app
from carepath.web.deps import SESSION_COOKIE
from models.base import require_id
from models.pathway import ResponseAssessmentRecord
from models.patient import DiseaseFactsBase, FitnessAssessment, HistoryBase, PatientCreate
from models.repositories.audit import Actor
from models.repositories.patients import PatientIntake, create_patient
from models.repositories.tokens import issue_api_token
from models.repositories.users import create_user, start_session
from models.session import transaction
from models.task import CareTask, ClinicalAlert
from models.user import ApiToken
from pathways.clock import end_of_day, start_of_day
from pathways.definition import load_definition
from pathways.vocab import Role, Severity, TaskKind

TZ = "America/New_York"
PASSWORD = "correct horse battery staple"
ROLES = tuple(Role)
SETUP = Actor("test-setup", "admin", "cli")


class Clock:
    """The app's clock in tests: fixed, and movable."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        self.at = self.at + timedelta(**kwargs)

    @property
    def today(self) -> date:
        return self.at.astimezone(ZoneInfo(TZ)).date()


@dataclass
class Web:
    app: FastAPI
    engine: Engine
    clock: Clock
    settings: Settings
    users: dict[str, Any] = field(default_factory=dict)
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @contextmanager
    def db(self) -> Iterator[Session]:
        with transaction(self.engine) as session:
            yield session

    def user(self, role: Role | str, username: str | None = None) -> Any:
        role = Role(role)
        name = username or f"{role.value}1"
        if name not in self.users:
            with self.db() as session:
                self.users[name] = create_user(
                    session,
                    username=name,
                    display_name=f"{role.value.title()} {name[-1]}",
                    role=role,
                    password_hash=hash_password(PASSWORD),
                    actor=SETUP,
                )
        return self.users[name]

    def client(self, role: Role | str | None = None, username: str | None = None) -> TestClient:
        """A browser-like client; signed in as ``role`` unless None. ``client.csrf`` holds its token."""
        client = TestClient(self.app, follow_redirects=False)
        client.csrf = ""  # type: ignore[attr-defined]
        if role is None:
            return client
        user = self.user(role, username)
        token, csrf = new_token(), new_token()
        with self.db() as session:
            start_session(
                session,
                user=user,
                token_digest=session_digest(token, self.settings.secret_key),
                csrf_token=csrf,
                now=self.clock(),
            )
        client.cookies.set(SESSION_COOKIE, token)
        client.csrf = csrf  # type: ignore[attr-defined]
        return client

    def api(self, role: Role | str, username: str | None = None) -> TestClient:
        """An API client with a token the user issued for themselves (as people do)."""
        user = self.user(role, username)
        token = new_token()
        with self.db() as session:
            if Role(user.role) is Role.ADMIN:
                # No admin is issued a token any more; one from before 0007_identity can
                # still exist, and the API must refuse it like any role it does not admit.
                session.add(
                    ApiToken(
                        user_id=user.id, name="legacy", token_hash=digest(token), expires_at=None
                    )
                )
            else:
                issue_api_token(
                    session,
                    user=user,
                    name="tests",
                    token_digest=digest(token),
                    actor=Actor(user.username, Role(user.role).value, "web"),
                    expires_at=self.clock() + timedelta(days=90),
                )
        return TestClient(
            self.app, follow_redirects=False, headers={"Authorization": f"Bearer {token}"}
        )

    def patient(self, name: str = "Ada Test", mrn: str | None = None, **disease: Any) -> int:
        seq = next(self._seq)
        intake = PatientIntake(
            patient=PatientCreate(
                mrn=mrn or f"T-{seq:04d}", display_name=name, birth_date=date(1970, 5, 17)
            ),
            disease=DiseaseFactsBase(lineage="B", **disease),
            history=HistoryBase(status="relapsed"),
            relapse_dates=[date(2026, 10, 1)],
        )
        with self.db() as session:
            row = create_patient(
                session,
                intake=intake,
                actor=SETUP,
                definition=load_definition("rr-all-adult"),
                at=self.clock() - timedelta(days=40),
            )
            return require_id(row)

    def assessment(self, patient_id: int, **findings: Any) -> int:
        """An unsigned response assessment of yesterday, as a coordinator records one."""
        row = ResponseAssessmentRecord(
            patient_id=patient_id,
            assessed_on=self.clock.today - timedelta(days=1),
            recorded_by="coordinator1",
            **findings,
        )
        with self.db() as session:
            session.add(row)
            session.flush()
            return require_id(row)

    def fitness(self, patient_id: int, *, hct_eligible: str, category: str = "fit") -> None:
        """A fitness assessment of three days ago."""
        row = FitnessAssessment(
            patient_id=patient_id,
            category=category,
            hct_eligible=hct_eligible,
            assessed_by="x",
            assessed_at=self.clock() - timedelta(days=3),
        )
        with self.db() as session:
            session.add(row)

    def task(
        self,
        patient_id: int,
        *,
        due_in_days: int = 0,
        window: int = 2,
        role: Role = Role.COORDINATOR,
        kind: TaskKind = TaskKind.LAB_PANEL,
        title: str = "Liver tests before inotuzumab dose",
        rule_id: str = "MON-05",
        section: str = "Inotuzumab ozogamicin > Toxicity",
        result_fields: list[str] | None = None,
        safety: bool = False,
        regimen: str | None = "inotuzumab_ozogamicin",
        **more: Any,
    ) -> int:
        seq = next(self._seq)
        due_date = self.clock.today + timedelta(days=due_in_days)
        start, end = due_date - timedelta(days=window), due_date + timedelta(days=window)
        row = CareTask(
            patient_id=patient_id,
            dedupe_key=f"test:{patient_id}:{seq}",
            pathway_version="2026.1",
            kind=kind,
            rule_id=rule_id,
            title=title,
            section=section,
            regimen=regimen,
            cycle=1,
            day=8,
            window_start=start,
            due_date=due_date,
            window_end=end,
            not_before=start_of_day(start, TZ),
            due=end_of_day(due_date, TZ),
            expires=end_of_day(end, TZ),
            safety=safety,
            role_queue=role,
            result_fields=["lft"] if result_fields is None else result_fields,
            plan_hash="test",
            **more,
        )
        with self.db() as session:
            session.add(row)
            session.flush()
            return require_id(row)

    def alert(self, patient_id: int, *, severity: Severity = Severity.CRITICAL) -> int:
        seq = next(self._seq)
        row = ClinicalAlert(
            patient_id=patient_id,
            dedupe_key=f"alert:{patient_id}:{seq}",
            code="lft_hold",
            rule_id="MON-05",
            severity=severity,
            message="Bilirubin above 1.5×ULN with AST/ALT above 2.5×ULN: hold the dose task",
            raised_at=self.clock() - timedelta(hours=2),
        )
        with self.db() as session:
            session.add(row)
            session.flush()
            return require_id(row)


def cr_findings() -> dict[str, Any]:
    """The findings of a complete remission at the end of induction (DEF-03)."""
    return {
        "marrow_blast_pct": 2.0,
        "trilineage_hematopoiesis": True,
        "circulating_blasts": False,
        "extramedullary_sites": [],
        "anc_per_ul": 1500.0,
        "platelets_per_ul": 150000.0,
        "end_of_induction": True,
    }


@pytest.fixture
def clock() -> Clock:
    # A Tuesday afternoon in New York, shortly after the end of DST.
    return Clock(datetime(2026, 11, 24, 19, 30, tzinfo=UTC))


@pytest.fixture
def web(database_url: str, engine: Engine, clock: Clock) -> Web:
    settings = Settings(
        database_url=database_url, timezone=TZ, environment="development", session_idle_minutes=30
    )
    app = create_app(settings, engine=engine, clock=clock)
    return Web(app=app, engine=engine, clock=clock, settings=settings)


def within_one_minute(room_seconds: int = 30) -> None:
    """Wait, if need be, until a minute of the wall clock has ``room_seconds`` left, so a test
    counting requests in one rate-limit window (a minute of the database's clock) stays in it."""
    import time

    left = 60 - datetime.now(UTC).second
    if left < room_seconds:
        time.sleep(left + 0.5)
