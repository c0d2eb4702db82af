#!/bin/sh
# Run once by the postgres image on first start (docker-entrypoint-initdb.d), as the
# superuser: the roles and databases of carepath, each with the least it needs.
#   carepath_owner  owns the carepath database; migrations (the `migrate` service) run as it
#   carepath_app    what the app and the worker connect as: reads and writes the tables,
#                   only INSERT/SELECT on the audit trail, no DDL (grants: 0010_run_leases)
#   prefect         owns the Prefect server's own database, nothing of carepath's
# Every TCP connection must use TLS (hostssl); the certificate is deploy/db-tls.sh's.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_password="$CAREPATH_DB_OWNER_PASSWORD" \
  -v app_password="$CAREPATH_DB_APP_PASSWORD" \
  -v prefect_password="$PREFECT_DB_PASSWORD" <<'SQL'
CREATE ROLE carepath_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE carepath_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
CREATE ROLE prefect LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'prefect_password';
CREATE DATABASE carepath OWNER carepath_owner;
CREATE DATABASE prefect OWNER prefect;
REVOKE ALL ON DATABASE carepath FROM PUBLIC;
REVOKE ALL ON DATABASE prefect FROM PUBLIC;
GRANT CONNECT ON DATABASE carepath TO carepath_owner;
GRANT CONNECT, TEMPORARY ON DATABASE carepath TO carepath_app;
GRANT CONNECT, TEMPORARY ON DATABASE prefect TO prefect;
SQL

# TCP only with TLS: the image's catch-all "host" line becomes "hostssl".
sed -i 's/^host all all all/hostssl all all all/' "$PGDATA/pg_hba.conf"
