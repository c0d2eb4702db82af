"""`carepath serve`: the web app at once, and behind it the clock of the flows.

The web app answers within seconds of the command; what takes longer (the
local Prefect server the flows report to, then the clock, when it owns the
schedules) comes up in a thread behind it, and the console says what is
still starting and when it is done. ``/readyz`` answers 200 once the
database is at head and every job has run (``carepath.web.health``).

With several web workers (``--workers``), the supervisor binds the port,
keeps the one clock and starts the workers; each worker ends with it, even
when it is killed (``die_with_parent``), so no worker serves on without a
clock nor holds the port a restart needs.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

import typer

from carepath.cli.common import console, settings_or_fail
from carepath.settings import Settings

SUPERVISOR_ENV = "CAREPATH_SERVE_SUPERVISOR"
READY_POLL_SECONDS = 1.0
STOP_JOBS_SECONDS = 120
RETRY_SECONDS = 30
HEAD_START_SECONDS = 5.0
SLOW_READY_SECONDS = 60  # then the console says what readiness still waits for
# How long the supervisor waits for a web worker to answer its health ping before it kills
# and replaces it. uvicorn's 5 s is shorter than a worker's imports on a busy 2-core machine,
# so starting workers were killed and restarted in a loop; a hung worker is still replaced.
WORKER_HEALTHCHECK_SECONDS = 120


STARTED = time.monotonic()


def say(message: str) -> None:
    """One console line; those said after start-up tell how long after it they came."""
    seconds = time.monotonic() - STARTED
    when = (
        f" (at {seconds:.0f} s)"
        if threading.current_thread() is not threading.main_thread()
        else ""
    )
    console.print(f"carepath: {message}{when}", highlight=False, markup=False, soft_wrap=True)


class Background:
    """The Prefect API and the clock, started in a thread behind the web app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock: Any = None  # the running Clock, once it runs
        # Set when the web app has answered (single process): the clock's start (Prefect's
        # imports, in this process) waits for it, or HEAD_START_SECONDS, not to slow that answer.
        self.answered = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="carepath-clock", daemon=True)

    def start(self) -> None:
        from carepath.orchestration import prepare_prefect

        prepare_prefect(self.settings)  # before anything imports Prefect
        self._thread.start()

    def stop(self) -> None:
        """Stop the clock, letting running jobs finish; a start still under way is abandoned
        (nothing of ours is half-done before the clock runs; the Prefect server dies with us)."""
        self._stop.set()
        if self.clock is not None:
            say("stopping the clock: waiting for the jobs that are running to finish")
        self._thread.join(timeout=STOP_JOBS_SECONDS if self.clock is not None else 5)

    def _run(self) -> None:
        self.answered.wait(HEAD_START_SECONDS)
        from carepath.scheduler import running_clock

        while not self._stop.is_set():
            try:
                with running_clock(self.settings, say=say, stop=self._stop) as clock:
                    if clock is None:  # stopped while the Prefect server was starting
                        return
                    self.clock = clock
                    self._announce_ready()
                    self._stop.wait()
                    return
            except Exception as exc:  # the web app keeps serving; /readyz says the jobs do not run
                say(
                    f"the clock did not start ({type(exc).__name__}: {exc}); /readyz answers 503; "
                    f"trying again in {RETRY_SECONDS} s"
                )
                self._stop.wait(RETRY_SECONDS)

    def _announce_ready(self) -> None:
        """Say when /readyz would answer 200, or, if that takes long, what it waits for."""
        from carepath.database import get_engine
        from carepath.timeutil import now
        from carepath.web.health import readiness

        engine = get_engine(self.settings)
        for second in range(1, 24 * 3600):
            if self._stop.wait(READY_POLL_SECONDS):
                return
            reasons = readiness(engine, now=now(), schedule_owner=self.settings.schedule_owner)
            if not reasons:
                say("ready: every job has run (/readyz answers 200)")
                return
            if second == SLOW_READY_SECONDS:
                say("not ready yet: " + "; ".join(reasons))


class SignalFirstAnswer:
    """Tells the background services when the web app has sent its first answer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        background = getattr(scope.get("app").state, "background", None) if "app" in scope else None
        if scope["type"] == "http" and background is not None:
            background.answered.set()


def background_lifespan(settings: Settings) -> Callable[[Any], Any]:
    """A lifespan for ``create_app``: the background services for the app's life."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        with running_background(settings) as background:
            app.state.background = background
            yield

    return lifespan


@contextmanager
def running_background(settings: Settings) -> Iterator[Background | None]:
    """The clock and its Prefect API behind the web app, when the clock owns the schedules."""
    if settings.schedule_owner != "apscheduler":
        yield None
        return
    background = Background(settings)
    background.start()
    try:
        yield background
    finally:
        background.stop()


def configure_access_log(settings: Settings) -> logging.Handler | None:
    """Send the app's access lines (route templates, never ids or values) to stderr.

    uvicorn's own access log is off: it prints the raw path and query, which can
    carry a patient's id or a searched name.
    """
    if not settings.access_log:
        return None
    log = logging.getLogger("carepath.access")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s access %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler


def worker_app() -> Any:
    """The app of one of several web worker processes (``uvicorn --factory``): no clock of its own."""
    from carepath import logsafe
    from carepath.orchestration import die_with_parent
    from carepath.settings import get_settings
    from carepath.web.app import create_app

    logsafe.install()  # a spawned process: main() did not run here
    die_with_parent(int(os.environ[SUPERVISOR_ENV]))
    settings = get_settings()
    configure_access_log(settings)
    return create_app(settings)


def _owner(settings: Settings) -> str:
    if settings.schedule_owner == "apscheduler":
        return "the clock of this command runs the flows (CAREPATH_SCHEDULE_OWNER=apscheduler)"
    return "Prefect deployments run the flows (`carepath worker`, CAREPATH_SCHEDULE_OWNER=prefect)"


def _serving(settings: Settings, url: str, workers: int) -> None:
    processes = "" if workers == 1 else f" with {workers} worker processes"
    say(f"serving {url}{processes}: sign in at {url}login, readiness at {url}readyz")
    if settings.schedule_owner == "apscheduler":
        say(
            "still starting: the local Prefect server of the flows (about 20 s; its log: "
            f"{settings.data_dir / 'prefect' / 'server.log'}), then the clock"
            if not os.environ.get("PREFECT_API_URL")
            else "still starting: the clock"
        )
    say(_owner(settings))


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Web worker processes (default CAREPATH_WEB_WORKERS)."),
    ] = None,
) -> None:
    """Run the web app (and the APScheduler clock when CAREPATH_SCHEDULE_OWNER=apscheduler)."""
    import uvicorn

    settings = settings_or_fail()
    host = host or settings.web_host
    port = port or settings.web_port
    workers = workers or settings.web_workers
    url = f"http://{host}:{port}/"
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
    }

    if workers == 1:
        from carepath.web.app import create_app

        configure_access_log(settings)
        app = create_app(settings, lifespans=[background_lifespan(settings)])
        app.add_middleware(SignalFirstAnswer)

        class Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets)
                if self.started:
                    _serving(settings, url, 1)

        Server(uvicorn.Config(app, **options)).run()
        return

    # The supervisor: it binds the port, keeps the one clock, and starts the workers
    # (each imports the app itself; this process never does).
    from uvicorn.supervisors import Multiprocess

    os.environ[SUPERVISOR_ENV] = str(os.getpid())
    config = uvicorn.Config(
        "carepath.cli.serve:worker_app",
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        **options,
    )
    sock = config.bind_socket()
    _serving(settings, url, workers)
    with running_background(settings):
        Multiprocess(config, sockets=[sock]).run()
