"""One demo user per role, with generated passwords, so a person can try every page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from carepath.security import generate_password, hash_password
from models.repositories.audit import Actor
from models.repositories.users import create_user
from pathways.vocab import Role

DEMO_USERS = (
    ("coordinator", "Casey Coordinator", Role.COORDINATOR),
    ("clinician", "Dr Robin Clinician", Role.CLINICIAN),
    ("quality", "Quinn Quality", Role.QUALITY),
    ("admin", "Alex Admin", Role.ADMIN),
)


@dataclass(frozen=True, slots=True)
class Credential:
    username: str
    role: str
    password: str


def create_demo_users(session: Session) -> list[Credential]:
    """Create the four demo users; returns their credentials (the passwords exist nowhere else)."""
    actor = Actor("demo", "admin", "cli")
    credentials = []
    for username, name, role in DEMO_USERS:
        password = generate_password()
        create_user(
            session,
            username=username,
            display_name=name,
            role=role,
            password_hash=hash_password(password),
            actor=actor,
        )
        credentials.append(Credential(username, role.value, password))
    return credentials
