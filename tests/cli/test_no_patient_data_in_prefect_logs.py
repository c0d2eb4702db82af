"""No patient data in Prefect's lines: a flow run that fails with a patient's name in its error.

`carepath plan` runs the plan_care flow under its local Prefect server, as the
clock of `carepath serve` does. Here every read of the patient table fails
inside PostgreSQL with an error that quotes the patient's name (a row-level
security policy whose check raises it), so the flow's task fails with that text
as its exception message. Prefect repeats an exception's text in its own log
lines ("Task run failed with exception: InternalError('…')", "Finished in state
Failed('… encountered an exception …')"); the process's stdout and stderr, and
the Prefect server's log, must name the failure's kind and none of the name.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from models.session import engine_for
from tests.cli.test_job_commands import run
from tests.cli.test_no_patient_data_in_logs import BIRTH, MRNS, NAME, SECRETS
from tests.cli.test_patient_commands import ADD


@pytest.mark.slow
@pytest.mark.timeout(900)  # a local Prefect server on a busy 2-core machine
def test_a_failing_flow_run_logs_its_kind_and_place_but_no_patient_data(
    database_url: str, owner_database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    person = {"--mrn": MRNS[0], "--name": NAME, "--birth-date": BIRTH}
    args = [person.get(ADD[i - 1], arg) if i else arg for i, arg in enumerate(ADD)]
    added = run(args, database_url, data)
    assert added.returncode == 0, added.stderr
    with engine_for(owner_database_url).begin() as conn:
        conn.execute(
            sa.text(
                "CREATE FUNCTION quote_the_name(name text) RETURNS boolean LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'cannot read patient %', name; END $$"
            )
        )
        conn.execute(sa.text("ALTER TABLE patient ENABLE ROW LEVEL SECURITY"))
        conn.execute(sa.text("ALTER TABLE patient FORCE ROW LEVEL SECURITY"))
        conn.execute(sa.text("CREATE POLICY leak ON patient USING (quote_the_name(display_name))"))

    # Minutes, not seconds: the local Prefect server starts first, on a busy 2-core machine.
    failed = run(["plan"], database_url, data, timeout=600)

    assert failed.returncode == 1
    said = failed.stdout + failed.stderr
    assert "message withheld" in said  # the failure is logged, by kind and place
    server_log = (data / "prefect" / "server.log").read_text(errors="replace")
    for secret in SECRETS:
        assert secret not in said, secret
        assert secret not in server_log, secret


def test_prefects_lines_keep_an_exceptions_kind_and_drop_its_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same rule in one process, for each shape of line Prefect writes (prefect 3.x)."""
    from carepath import logsafe

    # The rule of a carepath process, for this test only (other tests read real messages).
    monkeypatch.setattr(logsafe, "_installed", False)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    factory = logging.getLogRecordFactory()
    # A handler on the logger itself: Prefect's own logging set-up (run by earlier tests in
    # this process) may stop its loggers propagating to the root, where caplog listens.
    # The rule reads every record (a record factory), whatever its logger; a logger of the
    # test's own keeps Prefect's API log handler, which needs a flow run, out of it.
    logger = logging.getLogger("tests.prefect_lines")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    monkeypatch.setattr(logger, "propagate", False)
    logsafe.install()
    try:
        _log_a_failed_run(logger)
    finally:
        logging.setLogRecordFactory(factory)
        logger.removeHandler(handler)
    lines = [record.getMessage() for record in records]
    assert len(lines) == 3 and all("ValueError" in line for line in lines)
    assert lines[0].startswith("Task run failed with exception: ValueError - Retries are exhausted")
    assert not [line for line in lines if "Quistwater" in line]


def _log_a_failed_run(log: logging.Logger) -> None:
    try:
        raise ValueError(f"patient {NAME} has no MRN")
    except ValueError as exc:
        log.error(f"Task run failed with exception: {exc!r} - Retries are exhausted", exc_info=True)
        log.error(
            "Finished in state Failed('Task run encountered an exception ValueError: %s')", exc
        )
        log.error(
            "Finished in state Failed('Flow run encountered an exception: ValueError: %s')", exc
        )
