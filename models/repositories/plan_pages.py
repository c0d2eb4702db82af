"""The patients a plan run covers, cut into fixed pages of ids."""

from __future__ import annotations

from sqlmodel import Session

from models.sql import raw_connection


def patient_pages(session: Session, *, size: int) -> list[tuple[int, int]]:
    """Active patients cut into pages of ``size`` ids: (after id, last id) pairs, in id order.

    One query; the pages are fixed before any is planned, so they can be
    planned concurrently and a retried page is the same page.
    """
    with raw_connection(session).cursor() as cur:
        cur.execute(
            "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n, "
            "count(*) OVER () AS total FROM patient WHERE active) p "
            "WHERE n %% %s = 0 OR n = total ORDER BY id",
            (size,),
        )
        ends = [r[0] for r in cur]
    # No active patient (a new installation): no page, not a failed run.
    return list(zip([0, *ends[:-1]], ends, strict=True)) if ends else []


def patient_ids_between(session: Session, *, after_id: int, last_id: int) -> list[int]:
    with raw_connection(session).cursor() as cur:
        cur.execute(
            "SELECT id FROM patient WHERE active AND id > %s AND id <= %s ORDER BY id",
            (after_id, last_id),
        )
        return [r[0] for r in cur]
