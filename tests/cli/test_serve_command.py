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


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(todo.pop())], capture_output=True, text=True
        )
        children = {int(p) for p in out.stdout.split()}
        todo += sorted(children - found)
        found |= children
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state  # a zombie serves nothing and holds no port


def test_killing_the_supervisor_takes_its_workers_and_prefect_with_it_and_a_restart_works(
    cli_env: str, tmp_path: Path
) -> None:
    """Issue 12 (8): SIGKILL the `serve --workers` supervisor; nothing of it serves on."""
    port = free_port()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-c", "from carepath.cli import main; main()", "serve"]
    args = ["--port", str(port), "--workers", "2"]
    with open(log, "wb") as out:
        server = subprocess.Popen([*command, *args], stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/login", 120) == 200
        deadline = time.monotonic() + 240  # the clock's local Prefect server, a child too
        while "Prefect API is up" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        children = descendants(server.pid)
        assert web_workers(server.pid) == 2 and len(children) >= 3, log.read_text()
    finally:
        server.kill()
        server.wait(10)
    deadline = time.monotonic() + 15
    while any(alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in children if alive(p)], "children outlived the supervisor"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)

    # Right after the kill, the same command on the same port starts and answers.
    restart = subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert wait_for(f"http://127.0.0.1:{port}/login", 120) == 200
    finally:
        restart.send_signal(signal.SIGTERM)
        out, _ = restart.communicate(timeout=120)
    assert "address already in use" not in out.lower()
