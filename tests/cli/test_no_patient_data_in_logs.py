"""No patient data in any log: a database error carrying a name, an MRN and a birth date.

The error is a real constraint violation, provoked in the running `carepath
serve` (and in `carepath patient add`): an extra unique index on the patient's
name and birth date, as a site might add, makes the second intake of the
same person under another MRN fail inside PostgreSQL, whose message repeats
the key's values ("Key (display_name, birth_date)=(…) already exists") and
whose statement carries the MRN as a parameter. The process's stderr must
name the error (so the test sees that it was logged) and none of the values.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from carepath.security import digest, new_token
from models.repositories.audit import Actor
from models.repositories.tokens import issue_api_token
from models.repositories.users import create_user
from models.session import engine_for, transaction
from tests.cli.test_serve_command import free_port, wait_for
from tests.pathways.factories import case

NAME, BIRTH = "Zebulon Quistwater", "1969-07-21"
MRNS = ("ZQ-770001", "ZQ-770002")
SECRETS = (NAME, "Quistwater", BIRTH, *MRNS)
SETUP = Actor("test-setup", "admin", "cli")


def _same_person_twice_fails(url: str) -> None:
    with engine_for(url).begin() as conn:
        conn.execute(
            sa.text("CREATE UNIQUE INDEX ux_test_person ON patient (display_name, birth_date)")
        )


def _token(url: str) -> str:
    token = new_token()
    with transaction(engine_for(url)) as session:
        user = create_user(
            session,
            username="coord",
            display_name="Coordinator",
            role="coordinator",
            password_hash="x",
            actor=SETUP,
        )
        # A person's token is issued by that person (issue 12).
        issue_api_token(
            session,
            user=user,
            name="tests",
            token_digest=digest(token),
            actor=Actor("coord", "coordinator", "cli"),
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
    return token


def _post(url: str, token: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_a_database_error_in_serve_logs_no_name_mrn_or_birth_date(
    cli_env: str, owner_database_url: str
) -> None:
    _same_person_twice_fails(owner_database_url)  # DDL: the owner's, not the app's
    token = _token(cli_env)
    port = free_port()
    env = os.environ | {"CAREPATH_SCHEDULE_OWNER": "prefect"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from carepath.cli import main; main()",
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        try:
            wait_for(f"http://127.0.0.1:{port}/login")
        except OSError:
            server.kill()
            raise AssertionError(server.communicate()[1]) from None
        api = f"http://127.0.0.1:{port}/api/v1/patients"
        document = case(**{"patient.birth_date": BIRTH})
        first = {"mrn": MRNS[0], "display_name": NAME, "case": document}
        assert _post(api, token, first) == 201
        assert _post(api, token, first | {"mrn": MRNS[1]}) == 500
        nul = {"mrn": "ZQ-770003", "display_name": NAME + "\x00", "case": document}
        assert _post(api, token, nul) == 422
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=30)
    assert "IntegrityError [23505 ux_test_person] <- UniqueViolation" in err, err
    assert "message withheld" in err
    for secret in SECRETS:
        assert secret not in err
    # PostgreSQL's own log keeps such an error without the DETAIL line that repeats the key
    # (the embedded server's settings, carepath.embedded_db.SERVER_SETTINGS).
    if os.environ.get("TEST_DATABASE_URL"):
        return  # another server: its logging is its operator's
    with engine_for(cli_env).connect() as conn:
        assert conn.execute(sa.text("SHOW log_error_verbosity")).scalar_one() == "terse"


def test_a_database_error_in_a_command_prints_no_name_mrn_or_birth_date(
    cli_env: str, owner_database_url: str, tmp_path: Path
) -> None:
    _same_person_twice_fails(owner_database_url)  # DDL: the owner's, not the app's
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case(**{"patient.birth_date": BIRTH})))
    command = [sys.executable, "-c", "from carepath.cli import main; main()", "patient", "add"]
    for mrn, expected in zip(MRNS, (0, 1), strict=True):
        done = subprocess.run(
            [*command, "--mrn", mrn, "--name", NAME, "--case", str(path)],
            capture_output=True,
            text=True,
            check=False,
            env=os.environ,
        )
        assert done.returncode == expected, done.stderr
    assert done.stderr.startswith("carepath: internal error: IntegrityError [23505 ux_test_person]")
    assert "Traceback" not in done.stderr
    for secret in SECRETS:
        assert secret not in done.stderr
