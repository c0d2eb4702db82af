"""The demo creates one user per role with a generated password that signs in."""

from __future__ import annotations

from sqlalchemy import Engine

from carepath.demo.users import create_demo_users
from carepath.security import verify_password
from models.repositories.users import user_by_name
from models.session import transaction


def test_one_user_per_role_whose_password_works(engine: Engine) -> None:
    with transaction(engine) as session:
        credentials = create_demo_users(session)
    assert {c.role for c in credentials} == {"coordinator", "clinician", "quality", "admin"}
    with transaction(engine) as session:
        for c in credentials:
            user = user_by_name(session, username=c.username)
            assert user is not None and user.role.value == c.role
            assert len(c.password) >= 12 and verify_password(user.password_hash, c.password)
