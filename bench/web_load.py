"""How fast the queue page and the task-list API answer with 10,000 patients loaded.

    make bench-web            (or: .venv/bin/python bench/web_load.py --help)

1. Starts a private embedded PostgreSQL in a temporary folder (or uses
   ``--database-url``), migrates it, and loads a synthetic data set with COPY:
   10,000 patients with their facts, pathway instances, phase events, courses,
   ~30 care tasks each (about 300,000, most of the past ones completed) and
   lab results. Every name is invented.
2. Starts `carepath serve` on a loopback port (the flows' clock off), once per
   ``--workers`` count (web worker processes, default 1 and 2).
3. Drives it with wrk (bounded in time, loopback only) as a signed-in
   coordinator: the queue page (HTML) and the task-list API (JSON), and prints
   p50 / p95 / p99 latencies. Results also go to bench/output/web_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from models.task_sql import PLANNED_COLUMNS, is_open, sql, task_columns
from pathways.clock import end_of_day, start_of_day

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TZ = "America/New_York"
KINDS = (
    "lab_panel",
    "lab_panel",
    "lab_panel",
    "dose",
    "premedication",
    "crs_icans_monitoring",
    "neuro_assessment",
    "ecg",
    "bone_marrow_assessment",
    "lumbar_puncture",
    "clinician_review",
)
REGIMENS = (
    "blinatumomab",
    "inotuzumab_ozogamicin",
    "tisagenlecleucel",
    "revumenib",
    "nelarabine",
    "chemotherapy_high_intensity",
)
FIRST = ("Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea")
LAST = ("Moss", "Nash", "Orr", "Pike", "Quill", "Rusk", "Sand", "Tate", "Ulm", "Vale")
TASKS_PER_PATIENT = 30

LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f %.3f %.3f\\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000, latency.max / 1000))
end
"""

COLUMNS: dict[str, tuple[str, ...]] = {
    "patient": (
        "id",
        "mrn",
        "display_name",
        "birth_date",
        "declines_therapy",
        "active",
        "created_at",
        "updated_at",
    ),
    "disease_facts": (
        "patient_id",
        "lineage",
        "cd19",
        "cd22",
        "ph_positive",
        "updated_at",
        "updated_by",
    ),
    "disease_history": ("patient_id", "status", "prior_therapies_recorded", "updated_at"),
    "pathway_instance": (
        "id",
        "patient_id",
        "pathway_name",
        "pathway_version",
        "phase",
        "cns_track",
        "testis_track",
        "episode",
        "started_at",
        "phase_since",
    ),
    "phase_event": (
        "instance_id",
        "patient_id",
        "track",
        "to_state",
        "event",
        "actor",
        "reason",
        "rule_ids",
        "at",
    ),
    "course": (
        "id",
        "patient_id",
        "instance_id",
        "regimen",
        "phase",
        "cycle_number",
        "anchor_date",
        "status",
        "created_by",
        "created_at",
    ),
    # The planner's columns (models.task_sql, the one list), and a completion's.
    "care_task": (*PLANNED_COLUMNS, "completed_at", "completed_by"),
    "observation": (
        "patient_id",
        "code",
        "value",
        "unit",
        "uln",
        "observed_at",
        "source",
        "recorded_by",
        "recorded_at",
    ),
}
# The coordinator's open tasks, in models.task_sql's rendering of the open statuses.
OPEN_COORDINATOR_TASKS = (
    "SELECT count(*) FROM care_task WHERE role_queue = 'coordinator' AND "  # noqa: S608 (vocabulary, no input)
    + sql(is_open(task_columns("care_task")))
)


def _copy(conn: psycopg.Connection[Any], table: str, rows: Iterable[tuple[Any, ...]]) -> None:
    columns = ", ".join(COLUMNS[table])
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(url: str, patients: int, seed: int) -> dict[str, int]:
    """The synthetic data set, written with COPY in one transaction per table group."""
    rng = random.Random(seed)
    today = datetime.now(UTC).astimezone(ZoneInfo(TZ)).date()
    now = datetime.now(UTC)
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    ids = range(1, patients + 1)
    with psycopg.connect(libpq) as conn:
        for table, rows in patient_rows(rng, ids, now).items():
            _copy(conn, table, rows)
        anchors = {i: today - timedelta(days=rng.randint(0, 60)) for i in ids}
        regimens = {i: rng.choice(REGIMENS) for i in ids}
        _copy(
            conn,
            "course",
            [
                (i, i, i, regimens[i], "induction", 1, anchors[i], "active", "bench", now)
                for i in ids
            ],
        )
        _copy(conn, "care_task", task_rows(rng, ids, regimens, today, now))
        _copy(conn, "observation", observation_rows(rng, ids, now))
        return _settle(conn)


def patient_rows(rng: random.Random, ids: range, now: datetime) -> dict[str, list[tuple[Any, ...]]]:
    """Each patient, their facts, and a pathway instance in induction since enrolment."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    rows["patient"] = [
        (
            i,
            f"BENCH-{i:06d}",
            f"{rng.choice(FIRST)} {rng.choice(LAST)}-{i}",
            date(1940 + i % 60, 1 + i % 12, 1 + i % 28),
            False,
            True,
            now,
            now,
        )
        for i in ids
    ]
    rows["disease_facts"] = [
        (i, "B", "positive", rng.choice(("positive", "negative")), False, now, "bench") for i in ids
    ]
    rows["disease_history"] = [(i, "relapsed", False, now) for i in ids]
    rows["pathway_instance"] = [
        (i, i, "rr-all-adult", "2026.1", "induction", "not_started", "not_applicable", 1, now, now)
        for i in ids
    ]
    rows["phase_event"] = [
        (i, i, "main", "suspected_rr", "enrol", "bench", "synthetic", ["SM-01"], now) for i in ids
    ]
    return rows


def task_rows(
    rng: random.Random, ids: range, regimens: dict[int, str], today: date, now: datetime
) -> Iterator[tuple[Any, ...]]:
    """About thirty care tasks a patient, due from 90 days ago to 60 days ahead."""
    columns = COLUMNS["care_task"]
    for i in ids:
        for n in range(TASKS_PER_PATIENT):
            task = care_task(rng, i, n, regimens[i], today, now)
            yield tuple(task.get(name) for name in columns)


def care_task(
    rng: random.Random, i: int, n: int, regimen: str, today: date, now: datetime
) -> dict[str, Any]:
    """One task of patient ``i``: a three-day window, most past ones completed (the rest open)."""
    offset = rng.randint(-90, 60)
    due_date = today + timedelta(days=offset)
    start, end = due_date - timedelta(days=1), due_date + timedelta(days=1)
    past = offset < 0
    status = "completed" if past and rng.random() > 0.02 else "requested"
    kind = rng.choice(KINDS)
    role = "clinician" if kind == "clinician_review" or rng.random() < 0.2 else "coordinator"
    done = status == "completed"
    return {
        "patient_id": i,
        "instance_id": i,
        "course_id": i,
        "dedupe_key": f"bench:{i}:{n}",
        "pathway_version": "2026.1",
        "kind": kind,
        "rule_id": "MON-05" if kind == "lab_panel" else "RESP-03",
        "title": f"{kind.replace('_', ' ').capitalize()} (day {n})",
        "section": "Inotuzumab ozogamicin > Toxicity",
        "regimen": regimen,
        "cycle": 1,
        "day": n,
        "window_start": start,
        "due_date": due_date,
        "window_end": end,
        "not_before": start_of_day(start, TZ),
        "due": end_of_day(due_date, TZ),
        "expires": end_of_day(end, TZ),
        "safety": kind in ("ecg", "crs_icans_monitoring", "lab_panel"),
        "status": status,
        "role_queue": role,
        "result_fields": json.dumps(["lft"] if kind == "lab_panel" else []),
        "completed_at": now if done else None,
        "completed_by": "bench" if done else None,
        "escalation_level": 0,
        "plan_hash": "bench",
        "planned_at": now,
        "created_at": now,
        "updated_at": now,
    }


def observation_rows(rng: random.Random, ids: range, now: datetime) -> list[tuple[Any, ...]]:
    """Liver tests and counts of each patient, resulted 2, 9 and 16 days ago."""
    return [
        (
            i,
            code,
            value,
            unit,
            uln,
            now - timedelta(days=d, hours=rng.randint(0, 12)),
            "bench",
            "bench",
            now,
        )
        for i in ids
        for d in (2, 9, 16)
        for code, value, unit, uln in (
            ("alt", rng.uniform(10, 150), "U/L", 40.0),
            ("total_bilirubin", rng.uniform(0.2, 2.5), "mg/dL", 1.2),
            ("anc", rng.uniform(200, 4000), "/uL", None),
            ("platelets", rng.uniform(20000, 300000), "/uL", None),
        )
    ]


def _settle(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Set the id sequences past the rows, commit, analyze; the counts of what was loaded."""
    for table in ("patient", "pathway_instance", "course"):
        statement = (
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 (fixed table names)
        )
        conn.execute(statement)
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    counts: dict[str, int] = {}
    for table in ("patient", "care_task", "observation"):
        counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]  # noqa: S608
    counts["open_coordinator_tasks"] = conn.execute(OPEN_COORDINATOR_TASKS).fetchone()[0]  # type: ignore[index]
    return counts


def credentials(url: str) -> tuple[str, str]:
    """A signed-in coordinator: a session cookie and an API token (digests stored, as in the app)."""
    from carepath.security import digest, hash_password, new_token, session_digest
    from carepath.settings import Settings
    from models.repositories.audit import Actor
    from models.repositories.tokens import issue_api_token
    from models.repositories.users import create_user, start_session
    from models.session import engine_for, transaction

    cookie, token = new_token(), new_token()
    with transaction(engine_for(url)) as session:
        user = create_user(
            session,
            username="bench.coordinator",
            display_name="Bench Coordinator",
            role="coordinator",
            password_hash=hash_password("bench password 1234"),
            actor=Actor("bench", "admin", "cli"),
        )
        start_session(
            session,
            user=user,
            token_digest=session_digest(cookie, Settings().secret_key),
            csrf_token=new_token(),
            now=datetime.now(UTC),
        )
        issue_api_token(  # a person's token is their own
            session,
            user=user,
            name="bench",
            token_digest=digest(token),
            actor=Actor(user.username, "coordinator", "web"),
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
    return cookie, token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """`carepath serve` itself, with its settings from the environment, as an operator runs it.

    The flows' clock is off (their schedules are left to Prefect) so that only the
    web app is measured; the access log is off so that writing it is not either.
    """
    env = os.environ | {
        "CAREPATH_DATABASE_URL": url,
        "CAREPATH_TIMEZONE": TZ,
        "CAREPATH_SESSION_IDLE_MINUTES": "600",
        "CAREPATH_SCHEDULE_OWNER": "prefect",
        "CAREPATH_ACCESS_LOG": "false",
        "CAREPATH_WEB_WORKERS": str(workers),
        # Counted as always (its cost is measured), never reached by the load.
        "CAREPATH_API_RATE_PER_MINUTE": "1000000000",
    }
    proc = subprocess.Popen(  # noqa: S603 (our own interpreter and code)
        [
            sys.executable,
            "-c",
            "from carepath.cli import main; main()",
            "serve",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the web server did not start") from None
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the web server did not start in 30 s")


def wrk(url: str, header: str, *, seconds: int, connections: int, lua: Path) -> dict[str, float]:
    out = subprocess.run(  # noqa: S603
        [
            shutil.which("wrk") or "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-H",
            header,
            "-s",
            str(lua),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    n, status_errors, socket_errors, p50, p95, p99, mean, worst = line.split()[1:]
    return {
        "requests": int(n),
        "rps": round(int(n) / seconds, 1),
        "non_2xx": int(status_errors),
        "socket_errors": int(socket_errors),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "mean_ms": float(mean),
        "max_ms": float(worst),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=20, help="per measured run (bounded)")
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[1, 4], help="concurrent clients"
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="web worker processes of `carepath serve` (CAREPATH_WEB_WORKERS), one run each",
    )
    parser.add_argument(
        "--database-url", help="an empty postgresql+psycopg:// database to fill (default: embedded)"
    )
    parser.add_argument("--seed", type=int, default=20261124)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: run `make bench-web` (it installs it) or apt-get install wrk",
            file=sys.stderr,
        )
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="carepath-bench-"))
    try:
        url = args.database_url or embedded_database(workdir)
        from carepath.database import upgrade

        upgrade(url)
        started = time.perf_counter()
        counts = load(url, args.patients, args.seed)
        print(f"loaded {counts} in {time.perf_counter() - started:.1f} s", flush=True)
        cookie, token = credentials(url)
        lua = workdir / "report.lua"
        lua.write_text(LUA, encoding="utf-8")
        results: list[dict[str, Any]] = []
        for workers in args.workers:
            results += measure_server(url, workers, cookie, token, args, lua)
        write_report(counts, args.seconds, results)
        bad = [r for r in results if r["non_2xx"] or r["socket_errors"]]
        if bad:
            print(f"errors during the run: {bad}", file=sys.stderr)
            return 1
        return 0
    finally:
        if not args.database_url:
            from carepath.embedded_db import stop_server

            stop_server(workdir / "pgdata")
        shutil.rmtree(workdir, ignore_errors=True)


def embedded_database(workdir: Path) -> str:
    """A private embedded PostgreSQL in ``workdir`` and an empty database on it."""
    from carepath.embedded_db import ensure_database, sqlalchemy_url
    from carepath.embedded_db import start_server as start_pg

    print("starting a private embedded PostgreSQL ...", flush=True)
    admin = start_pg(workdir / "pgdata", cleanup_mode="delete")
    ensure_database(admin, "carepath_bench")
    return sqlalchemy_url(admin, "carepath_bench")


def measure_server(
    url: str, workers: int, cookie: str, token: str, args: argparse.Namespace, lua: Path
) -> list[dict[str, Any]]:
    """One `carepath serve` with ``workers`` processes: each endpoint warmed, then measured."""
    port = free_port()
    server = start_server(url, port, workers)
    base = f"http://127.0.0.1:{port}"
    targets = {
        "queue page (GET /queue, HTML)": (f"{base}/queue", f"Cookie: carepath_session={cookie}"),
        "task list API (GET /api/v1/tasks)": (
            f"{base}/api/v1/tasks",
            f"Authorization: Bearer {token}",
        ),
    }
    results: list[dict[str, Any]] = []
    try:
        for name, (target, header) in targets.items():
            wrk(target, header, seconds=3, connections=2 * workers, lua=lua)  # warm-up
            for c in args.connections:
                stats = wrk(target, header, seconds=args.seconds, connections=c, lua=lua)
                results.append({"endpoint": name, "workers": workers, "connections": c} | stats)
                print(
                    f"{name:<36} w={workers} c={c:<2} {stats['rps']:>7.1f} req/s  "
                    f"p50 {stats['p50_ms']:6.1f} ms  p95 {stats['p95_ms']:6.1f} ms  "
                    f"p99 {stats['p99_ms']:6.1f} ms  non-2xx {stats['non_2xx']}",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return results


def write_report(counts: dict[str, int], seconds: int, results: list[dict[str, Any]]) -> None:
    out = ROOT / "bench" / "output"
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count()},
        "data": counts,
        "seconds_per_run": seconds,
        "results": results,
    }
    (out / "web_load.json").write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
