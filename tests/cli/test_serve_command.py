"""`carepath serve` for real: one process, or several web workers under one supervisor."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def web_workers(pid: int) -> int:
    """Worker processes spawned by the supervisor (not multiprocessing's resource tracker)."""
    out = subprocess.run(
        ["ps", "-o", "args=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return sum("spawn_main" in line for line in out.stdout.splitlines())


def wait_for(url: str, seconds: float = 60) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback
                return int(answer.status)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_with_the_workers_asked_for_and_stops_on_sigterm(
    cli_env: str, tmp_path: Path, workers: int
) -> None:
    port = free_port()
    env = os.environ | {"CAREPATH_SCHEDULE_OWNER": "prefect", "CAREPATH_WEB_WORKERS": str(workers)}
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
        assert wait_for(f"http://127.0.0.1:{port}/login") == 200
        for _ in range(10):
            assert wait_for(f"http://127.0.0.1:{port}/login") == 200
        # One process serves alone; with workers, the supervisor has that many children.
        assert web_workers(server.pid) == (0 if workers == 1 else workers)
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    # uvicorn shuts down gracefully, then ends by the signal it was sent (or exits 0).
    assert server.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in err
    assert f"http://127.0.0.1:{port}/" in out
    assert ("worker processes" in out) == (workers > 1)
    assert "access GET /login 200" in err  # the route-template access log, from every worker
