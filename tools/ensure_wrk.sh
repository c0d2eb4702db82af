#!/usr/bin/env bash
# The web benchmark drives wrk (Debian package `wrk`) against loopback;
# installed when missing.
set -euo pipefail
WRK="${CAREPATH_WRK:-/usr/bin/wrk}"
if [ -x "$WRK" ]; then
    exit 0
fi
echo "wrk not found at $WRK; installing the Debian package for the web benchmark ..."
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "error: the web benchmark needs wrk at $WRK." >&2
    echo "       Install it as root with: apt-get install -y wrk" >&2
    echo "       (or point CAREPATH_WRK at a wrk binary)." >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq wrk >/dev/null
test -x "$WRK" || { echo "error: wrk still missing at $WRK after install" >&2; exit 1; }
echo "wrk installed at $WRK"
