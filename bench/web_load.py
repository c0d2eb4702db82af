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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TZ = "America/New_York"
OPEN = ("requested", "accepted", "in-progress", "on-hold")
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

LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f %.3f %.3f\\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000, latency.max / 1000))
end
"""


def _copy(
    conn: psycopg.Connection[Any], table: str, columns: list[str], rows: list[tuple[Any, ...]]
) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(url: str, patients: int, seed: int) -> dict[str, int]:
    """The synthetic data set, written with COPY in one transaction per table group."""
    from pathways.clock import end_of_day, start_of_day

    rng = random.Random(seed)
    today = datetime.now(UTC).astimezone(ZoneInfo(TZ)).date()
    now = datetime.now(UTC)
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    counts: dict[str, int] = {}
    with psycopg.connect(libpq) as conn:
        ids = range(1, patients + 1)
        _copy(
            conn,
            "patient",
            [
                "id",
                "mrn",
                "display_name",
                "birth_date",
                "declines_therapy",
                "active",
                "created_at",
                "updated_at",
            ],
            [
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
            ],
        )
        _copy(
            conn,
            "disease_facts",
            ["patient_id", "lineage", "cd19", "cd22", "ph_positive", "updated_at", "updated_by"],
            [
                (i, "B", "positive", rng.choice(("positive", "negative")), False, now, "bench")
                for i in ids
            ],
        )
        _copy(
            conn,
            "disease_history",
            ["patient_id", "status", "prior_therapies_recorded", "updated_at"],
            [(i, "relapsed", False, now) for i in ids],
        )
        _copy(
            conn,
            "pathway_instance",
            [
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
            ],
            [
                (
                    i,
                    i,
                    "rr-all-adult",
                    "2026.1",
                    "induction",
                    "not_started",
                    "not_applicable",
                    1,
                    now,
                    now,
                )
                for i in ids
            ],
        )
        _copy(
            conn,
            "phase_event",
            [
                "instance_id",
                "patient_id",
                "track",
                "to_state",
                "event",
                "actor",
                "reason",
                "rule_ids",
                "at",
            ],
            [
                (i, i, "main", "suspected_rr", "enrol", "bench", "synthetic", ["SM-01"], now)
                for i in ids
            ],
        )
        anchors = {i: today - timedelta(days=rng.randint(0, 60)) for i in ids}
        regimens = {i: rng.choice(REGIMENS) for i in ids}
        _copy(
            conn,
            "course",
            [
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
            ],
            [
                (i, i, i, regimens[i], "induction", 1, anchors[i], "active", "bench", now)
                for i in ids
            ],
        )
        tasks: list[tuple[Any, ...]] = []
        for i in ids:
            for n in range(30):
                offset = rng.randint(-90, 60)
                due_date = today + timedelta(days=offset)
                start, end = due_date - timedelta(days=1), due_date + timedelta(days=1)
                past = offset < 0
                status = "completed" if past and rng.random() > 0.02 else "requested"
                kind = rng.choice(KINDS)
                role = (
                    "clinician"
                    if kind == "clinician_review" or rng.random() < 0.2
                    else "coordinator"
                )
                tasks.append(
                    (
                        i,
                        i,
                        i,
                        f"bench:{i}:{n}",
                        "2026.1",
                        kind,
                        "MON-05" if kind == "lab_panel" else "RESP-03",
                        f"{kind.replace('_', ' ').capitalize()} (day {n})",
                        "Inotuzumab ozogamicin > Toxicity",
                        regimens[i],
                        1,
                        n,
                        start,
                        due_date,
                        end,
                        start_of_day(start, TZ),
                        end_of_day(due_date, TZ),
                        end_of_day(end, TZ),
                        kind in ("ecg", "crs_icans_monitoring", "lab_panel"),
                        status,
                        role,
                        json.dumps(["lft"] if kind == "lab_panel" else []),
                        now if status == "completed" else None,
                        "bench" if status == "completed" else None,
                        0,
                        "bench",
                        now,
                        now,
                        now,
                    )
                )
        _copy(
            conn,
            "care_task",
            [
                "patient_id",
                "instance_id",
                "course_id",
                "dedupe_key",
                "pathway_version",
                "kind",
                "rule_id",
                "title",
                "section",
                "regimen",
                "cycle",
                "day",
                "window_start",
                "due_date",
                "window_end",
                "not_before",
                "due",
                "expires",
                "safety",
                "status",
                "role_queue",
                "result_fields",
                "completed_at",
                "completed_by",
                "escalation_level",
                "plan_hash",
                "planned_at",
                "created_at",
                "updated_at",
            ],
            tasks,
        )
        observations = [
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
        _copy(
            conn,
            "observation",
            [
                "patient_id",
                "code",
                "value",
                "unit",
                "uln",
                "observed_at",
                "source",
                "recorded_by",
                "recorded_at",
            ],
            observations,
        )
        for table in ("patient", "pathway_instance", "course"):
            statement = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 (fixed table names)
            conn.execute(statement)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        for table in ("patient", "care_task", "observation"):
            counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]  # noqa: S608
        counts["open_coordinator_tasks"] = conn.execute(
            "SELECT count(*) FROM care_task WHERE role_queue = 'coordinator' AND status IN ('requested','accepted','in-progress','on-hold')"
        ).fetchone()[0]  # type: ignore[index]
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


def main() -> int:
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
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: run `make bench-web` (it installs it) or apt-get install wrk",
            file=sys.stderr,
        )
        return 2

    from carepath.database import upgrade
    from carepath.embedded_db import ensure_database, sqlalchemy_url
    from carepath.embedded_db import start_server as start_pg

    workdir = Path(tempfile.mkdtemp(prefix="carepath-bench-"))
    try:
        if args.database_url:
            url = args.database_url
        else:
            print("starting a private embedded PostgreSQL ...", flush=True)
            admin = start_pg(workdir / "pgdata", cleanup_mode="delete")
            ensure_database(admin, "carepath_bench")
            url = sqlalchemy_url(admin, "carepath_bench")
        upgrade(url)
        started = time.perf_counter()
        counts = load(url, args.patients, args.seed)
        print(f"loaded {counts} in {time.perf_counter() - started:.1f} s", flush=True)
        cookie, token = credentials(url)
        lua = workdir / "report.lua"
        lua.write_text(LUA, encoding="utf-8")
        results: list[dict[str, Any]] = []
        for workers in args.workers:
            port = free_port()
            server = start_server(url, port, workers)
            base = f"http://127.0.0.1:{port}"
            targets = {
                "queue page (GET /queue, HTML)": (
                    f"{base}/queue",
                    f"Cookie: carepath_session={cookie}",
                ),
                "task list API (GET /api/v1/tasks)": (
                    f"{base}/api/v1/tasks",
                    f"Authorization: Bearer {token}",
                ),
            }
            try:
                for name, (target, header) in targets.items():
                    wrk(target, header, seconds=3, connections=2 * workers, lua=lua)  # warm-up
                    for c in args.connections:
                        stats = wrk(target, header, seconds=args.seconds, connections=c, lua=lua)
                        results.append(
                            {"endpoint": name, "workers": workers, "connections": c} | stats
                        )
                        print(
                            f"{name:<36} w={workers} c={c:<2} {stats['rps']:>7.1f} req/s  "
                            f"p50 {stats['p50_ms']:6.1f} ms  p95 {stats['p95_ms']:6.1f} ms  "
                            f"p99 {stats['p99_ms']:6.1f} ms  non-2xx {stats['non_2xx']}",
                            flush=True,
                        )
            finally:
                server.terminate()
                server.wait(timeout=10)
        out = ROOT / "bench" / "output"
        out.mkdir(parents=True, exist_ok=True)
        report = {
            "measured_at": datetime.now(UTC).isoformat(),
            "machine": {"cpus": os.cpu_count()},
            "data": counts,
            "seconds_per_run": args.seconds,
            "results": results,
        }
        (out / "web_load.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
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


if __name__ == "__main__":
    raise SystemExit(main())
