"""Secrets: password hashing, session and API tokens, generated passwords.

Passwords are hashed with argon2id (argon2-cffi's defaults). Session cookies
and API tokens are random 256-bit values; only their SHA-256 digest is stored,
so a copy of the database opens no session. The repositories store and look
up digests; hashing stays here, in the application shell.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when a username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 12


class WeakPassword(ValueError):
    def __init__(self) -> None:
        super().__init__(f"password: must be at least {MIN_PASSWORD_LENGTH} characters")
        self.field = "password"


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword()
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still costs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A random URL-safe secret (256 bits) for a session cookie, a CSRF token or an API token."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What is stored for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def generate_password(length: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))
