#!/bin/sh
# Run by the one-shot `db-tls` service before PostgreSQL starts: a certificate of this
# installation's own for the database server (named "postgres", its compose host name),
# made once and kept in the db-tls volume. The clients verify it (sslmode=verify-full,
# sslrootcert=/db-tls/server.crt): it is its own root, and no one else holds its key.
set -eu
cd /db-tls
if [ ! -s server.key ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -sha256 \
    -subj "/CN=postgres" -addext "subjectAltName=DNS:postgres" \
    -keyout server.key -out server.crt
fi
# PostgreSQL (uid 999 in the official image) refuses a key others can read.
chown 999:999 server.key server.crt
chmod 600 server.key
chmod 644 server.crt
