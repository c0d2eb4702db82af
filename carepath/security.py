"""Secrets: password hashing and policy, session and API tokens, the secret key.

Passwords are hashed with argon2id (argon2-cffi's defaults) and follow OWASP
ASVS 4.0 V2.1: at least 12 characters and at most 128, any characters
(spaces included, nothing truncated), not blank, and not on the shipped list
of common and breached passwords (``carepath/passwords/README.md`` names its
source and licence). Session cookies and API tokens are random 256-bit values.
A session cookie is stored as an HMAC keyed with ``CAREPATH_SECRET_KEY``, so a
copy of the database opens no session and a new key ends every session; an
API token as its SHA-256, so integrations survive a key rotation. The
repositories store and look up digests; hashing stays here, in the
application shell.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import math
import secrets
import string
from collections import Counter
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when a username is unknown, so a wrong name costs as long as a wrong
    password; made on first use (one argon2 hash was a good share of the web app's start-up)."""
    return _hasher.hash(secrets.token_urlsafe(16))


MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS = Path(__file__).parent / "passwords" / "common-passwords.txt.gz"
# A production secret key: 32 random bytes, e.g. secrets.token_urlsafe(32) (43 characters).
SECRET_KEY_CHARACTERS = 43
SECRET_KEY_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"  # noqa: S105


class WeakPassword(ValueError):
    def __init__(self, problem: str, field: str = "password") -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list, only its entries long enough to be accepted otherwise."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(word for line in lines if len(word := line.strip()) >= MIN_PASSWORD_LENGTH)


def password_problem(password: str) -> str | None:
    """What is wrong with a new password (ASVS V2.1), or None."""
    if not password.strip():
        return "must not be blank"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters"
    if password.strip().lower() in common_passwords():
        return "is on the list of common or breached passwords; choose another"
    return None


def hash_password(password: str, field: str = "password") -> str:
    """The argon2 hash of an acceptable new password; ``WeakPassword`` otherwise."""
    problem = password_problem(password)
    if problem is not None:
        raise WeakPassword(problem, field)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still costs one verification."""
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A random URL-safe secret (256 bits) for a session cookie, a CSRF token or an API token."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What is stored for an API token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def session_digest(token: str, secret_key: str) -> str:
    """What is stored for a session cookie: its HMAC-SHA-256 under the secret key, hex."""
    return hmac.new(
        secret_key.encode("utf-8"), b"session:" + token.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def generate_password(length: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if password_problem(password) is None:
            return password


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` is not 32 random bytes' worth of secret, or None.

    Randomness cannot be proven from the text; what is refused is what is
    surely not: fewer characters than 32 random bytes encode to, or text
    whose characters repeat like a word's (under 3 bits of entropy each;
    random base64 or hex carries about 4 to 6).
    """
    if len(key) < SECRET_KEY_CHARACTERS:
        return f"must be at least 32 random bytes ({SECRET_KEY_CHARACTERS} characters); {SECRET_KEY_HINT}"
    counts = Counter(key)
    bits = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    if bits < 3:
        return f"does not look random (characters repeat too much); {SECRET_KEY_HINT}"
    return None
