"""The product as people run it: `carepath serve` as a process, its CLI beside it, a real browser.

``Carepath`` is one installation on a data folder of its own: the embedded
PostgreSQL the commands start there, `carepath db upgrade`, then
`carepath serve` as a subprocess with default settings (plus what a test
passes: ``--workers``, another schedule owner) on a free loopback port, and
the clinic's clock fixed at ``NOW`` (``CAREPATH_FIXED_NOW``, refused in
production) so that what is due today is the same on every run. It waits for
``/readyz``. Everything a person or an integrator does goes through the
product's own doors: ``cli`` runs a `carepath` command on the same data folder
(users, tokens, one flow run now), ``api`` is an HTTP client with a real
token, ``sign_in`` uses the sign-in page. ``db`` reads the same database, for
asserting the rows a journey left behind.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text

CARE_PATH = Path(sys.executable).parent / "carepath"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "acceptance"
# A Tuesday morning in the clinic's zone (New York, which has DST).
NOW = "2026-11-24T10:00:00-05:00"
TODAY = "2026-11-24"
PASSWORD = "correct horse battery staple"
# A real server on a busy 2-core machine: a page (the adherence dashboard computes every
# indicator) may take more than the browser tests' 10 s.
PAGE_TIMEOUT_MS = 90_000
POLL_SECONDS = 0.5  # bench/serve_start.py polls finer
READY_SECONDS = 600  # a cold start on a busy 2-core machine: Prefect's server, then every job
# Left out of a journey's fresh start: the schema and the clock's ledger of runs
# (readiness reads it; it is the installation's, not a journey's).
KEPT_TABLES = ("alembic_version", "run_ledger")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class User:
    username: str
    role: str
    password: str = PASSWORD


class Carepath:
    """One installation: a data folder, its embedded PostgreSQL, and `carepath serve` on it."""

    def __init__(
        self,
        root: Path,
        *,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.first_answer: float | None = None  # seconds from start to the sign-in page's 200
        self._engine: Engine | None = None
        self._users = 0
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CAREPATH_", "PREFECT_")) and k != "TEST_DATABASE_URL"
        }
        self.env = {
            **base,
            "CAREPATH_DATA_DIR": str(self.data_dir),
            "CAREPATH_FIXED_NOW": NOW,
            "COLUMNS": "200",
            **(env or {}),
        }

    # -- the server ---------------------------------------------------------------------

    def start(self, *, ready: bool = True) -> Carepath:
        self.root.mkdir(parents=True, exist_ok=True)
        self.cli("db", "upgrade")
        self.started_at = time.monotonic()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(CARE_PATH), "serve", "--port", str(self.port), "--workers", str(self.workers)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped whole
            )
        self.first_answer = self.wait_for("/login")
        if ready:
            self.wait_ready()
        return self

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as answer:  # noqa: S310 - loopback
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def wait_for(self, path: str, status: int = 200, seconds: float = READY_SECONDS) -> float:
        """Seconds from the start of `carepath serve` until ``path`` answered ``status``."""
        deadline = time.monotonic() + seconds
        while (got := self.status(path)) != status:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"carepath serve ended ({self.process.returncode}):\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} answered {got}, not {status}:\n{self.tail()}")
            time.sleep(POLL_SECONDS)
        return time.monotonic() - self.started_at

    def wait_ready(self, seconds: float = READY_SECONDS) -> float:
        return self.wait_for("/readyz", 200, seconds)

    def console(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 30) -> str:
        """The console's last lines, without the access lines of the readiness polls."""
        said = [line for line in self.console().splitlines() if "access GET /readyz" not in line]
        return "\n".join(said[-lines:])

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Stop the server's process group; the exit code (None when it was not running)."""
        if self.process is None:
            return None
        code = None
        try:
            os.killpg(self.process.pid, sig)
            code = self.process.wait(timeout=60)
        except ProcessLookupError:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            code = self.process.wait(timeout=10)
        self.process = None
        return code

    def close(self) -> None:
        self.stop()
        if self._engine is not None:
            self._engine.dispose()
        self.cli("db", "stop", check=False)

    # -- the product's doors ---------------------------------------------------------------

    def cli(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 300,
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        """A `carepath` command on this installation's data folder (and clock)."""
        done = subprocess.run(
            [str(CARE_PATH), *args],
            env={**self.env, **env},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"carepath {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    @property
    def prefect_api(self) -> str | None:
        """The Prefect API the server's clock reports to (commands beside it reuse it)."""
        found = re.search(r"Prefect API is up at (\S+)", self.console())
        return found.group(1) if found else None

    def run_job(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one flow now on this database (`plan`, `evaluate-results`, `dispatch`, `escalate`)."""
        api = self.prefect_api
        return self.cli(command, *args, **({"PREFECT_API_URL": api} if api else {}))

    def add_user(self, role: str, username: str | None = None) -> User:
        self._users += 1
        user = User(username or f"{role}{self._users}", role)
        self.cli("user", "add", user.username, "--role", role, "--password", user.password)
        return user

    def token(self, user: User) -> str:
        """The person's own token: `carepath user token` asks for their password."""
        done = self.cli(
            "user", "token", user.username, "--name", "acceptance", input=user.password + "\n"
        )
        return done.stdout.strip()

    @contextmanager
    def api(self, user: User) -> Iterator[httpx.Client]:
        """The REST API as an integration uses it: a bearer token of ``user``."""
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        with httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30) as client:
            yield client

    # -- the database behind it ----------------------------------------------------------

    @property
    def db(self) -> Engine:
        """The installation's database, for reading what a journey left (and fresh starts)."""
        if self._engine is None:
            from carepath.embedded_db import DATABASE_NAME, sqlalchemy_url, start_server

            admin = start_server(self.data_dir / "pgdata")  # the one the commands started
            self._engine = create_engine(sqlalchemy_url(admin, DATABASE_NAME))
        return self._engine

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.db.connect() as conn:
            return list(conn.execute(text(sql), params))

    def fresh(self, seconds: float = 120) -> None:
        """Empty every journey's table (patients, tasks, users, audit...) in one statement,
        once no scheduled run is in progress (a run over vanishing rows tests nothing)."""
        deadline = time.monotonic() + seconds
        while self.rows("SELECT 1 FROM run_ledger WHERE status = 'running'"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"a scheduled run is still going:\n{self.tail()}")
            time.sleep(0.2)
        with self.db.begin() as conn:
            # The audit trail and phase history refuse TRUNCATE by trigger; a test's reset
            # is the one place allowed past it (replica mode fires no ordinary trigger).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            tables = conn.execute(
                text(
                    "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
                    "AND NOT tablename = ANY(:kept)"
                ),
                {"kept": list(KEPT_TABLES)},
            ).scalars()
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def sign_in(page: Any, server: Carepath, user: User) -> None:
    """Sign in through the sign-in page, as a person does; lands on the user's start page.

    A person taking over the screen starts from no session (the sign-in page sends a
    signed-in visitor on to their start page)."""
    page.context.clear_cookies()
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", user.password)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.inner_text("main")
