"""Prefect for the shell: its environment, and a quiet local API server when none is configured.

Prefect reads its settings when first imported, so ``prepare_prefect`` runs
before any flow module is imported: Prefect's home goes under the data
folder (not ``~/.prefect``), server analytics are off (no patient-data server
talks to the internet), and its loggers speak only at WARNING, so a normal run
prints our output, not Prefect's.

``prefect_api`` yields a Prefect API for the process. With ``PREFECT_API_URL``
set (production: the Prefect server of docker-compose.yml) it is used as is.
Otherwise a local Prefect server is started for the life of the command, its
state kept in ``<data dir>/prefect`` so run history survives, its output in
``<data dir>/prefect/server.log`` instead of the terminal. Before it stops,
the log and event workers are drained, which is what keeps its shutdown quiet.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carepath.settings import Settings

if TYPE_CHECKING:
    from prefect.server.api.server import SubprocessASGIServer

STARTUP_SECONDS = 300

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    # Our own loggers go through Prefect's console handler when a flow runs.
    "PREFECT_LOGGING_EXTRA_LOGGERS": "carepath",
}


def prefect_home(settings: Settings) -> Path:
    return (settings.data_dir / "prefect").resolve()


def prepare_prefect(settings: Settings) -> None:
    """Prefect's environment for this process and its children (explicit settings win)."""
    if "prefect" in sys.modules:
        # Too late for its settings (a test harness, an embedding program): keep
        # what it read, but keep its loggers as quiet as configured.
        level = os.environ.get("PREFECT_LOGGING_LEVEL", PREFECT_DEFAULTS["PREFECT_LOGGING_LEVEL"])
        logging.getLogger("prefect").setLevel(level)
        return
    home = prefect_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)


def die_with_parent(parent: int) -> None:
    """Have the kernel end this process when ``parent`` does, even by SIGKILL (Linux).

    A child of `carepath serve` (a web worker, the local Prefect server) must not
    outlive it: orphaned, it keeps serving without the clock, and holds the port
    a restart needs. Elsewhere this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the request was in place
        os._exit(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _drain() -> None:
    """Flush Prefect's log and event workers so nothing is in flight when the server stops."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        with contextlib.suppress(RuntimeError):
            result: Any = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        result = EventsWorker.drain_all()
        if inspect.isawaitable(result):
            await result

    run_coro_as_sync(drain())


@contextmanager
def prefect_api(settings: Settings) -> Iterator[str]:
    """The Prefect API URL this process uses; a local server runs for the block if none is set."""
    prepare_prefect(settings)
    import prefect.settings

    configured = prefect.settings.PREFECT_API_URL.value()
    if configured:
        yield str(configured)
        return
    server = _quiet_server(prefect_home(settings) / "server.log")
    with _serving(server), _using_api(server.api_url):
        try:
            yield server.api_url
        finally:
            _drain()


def _quiet_server(log_path: Path) -> SubprocessASGIServer:
    """Prefect's ephemeral server on a free port, its output in ``log_path``."""
    from prefect.server.api.server import SubprocessASGIServer

    class QuietServer(SubprocessASGIServer):
        """Prefect's ephemeral server (prefect 3.8.8's own command and environment), with
        its output in ``log_path`` and its life tied to this process's."""

        def _run_uvicorn_command(self) -> subprocess.Popen[bytes]:
            from prefect.settings import get_current_settings

            env = {
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            }
            with open(log_path, "ab") as log:
                return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
                    _server_command(self.port), env=env, stdout=log, stderr=subprocess.STDOUT
                )

    return QuietServer(port=_free_port())


def _server_command(port: int | None) -> list[str]:
    """Prefect's server app under uvicorn, as a child that ends with this process."""
    import prefect

    return [
        sys.executable,
        "-m",
        __name__,  # die_with_parent, then `python -m uvicorn ...`
        str(os.getpid()),
        "uvicorn",
        "--app-dir",
        str(prefect.__module_path__.parent),
        "--factory",
        "prefect.server.api.server:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
        "--lifespan",
        "on",
    ]


@contextmanager
def _serving(server: SubprocessASGIServer) -> Iterator[None]:
    """Run ``server`` for the block as "the" ephemeral server Prefect code looks for."""
    from prefect.server.api.server import SubprocessASGIServer

    previous = SubprocessASGIServer._instances.get(None)
    SubprocessASGIServer._instances[None] = server
    quiet = logging.getLogger("prefect.server")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        # Minutes, not seconds: on a busy 2-core machine its imports and migrations alone take one.
        server.start(timeout=STARTUP_SECONDS)
        yield
    finally:
        server.stop()
        quiet.setLevel(level)
        if previous is not None:
            SubprocessASGIServer._instances[None] = previous
        else:
            SubprocessASGIServer._instances.pop(None, None)


@contextmanager
def _using_api(url: str) -> Iterator[None]:
    """Prefect's settings, in this thread and globally, point at ``url`` for the block."""
    import prefect.context
    import prefect.settings

    with (
        prefect.settings.temporary_settings(updates={prefect.settings.PREFECT_API_URL: url}),
        prefect.context._temporary_global_settings_context(prefect.context.get_settings_context()),
    ):
        yield


if __name__ == "__main__":
    # `python -m carepath.orchestration PARENT_PID MODULE ARGS...`: run MODULE as a child
    # that ends when PARENT_PID does (the local Prefect server of a carepath command).
    import runpy

    from carepath import logsafe

    logsafe.install()  # the Prefect server's log holds our runs' logs and states: data-free too
    die_with_parent(int(sys.argv[1]))
    sys.argv = sys.argv[2:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
