#!/usr/bin/env bash
# The browser tests drive the system Chromium (Debian package `chromium`, /usr/bin/chromium);
# Playwright's own browser download does not work on these machines. Install it when missing.
set -euo pipefail
CHROMIUM="${CAREPATH_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
echo "chromium not found at $CHROMIUM; installing the Debian package for the browser tests ..."
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "error: the browser tests need Chromium at $CHROMIUM." >&2
    echo "       Install it as root with: apt-get install -y chromium" >&2
    echo "       (or point CAREPATH_CHROMIUM at a Chromium binary)." >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
test -x "$CHROMIUM" || { echo "error: chromium still missing at $CHROMIUM after install" >&2; exit 1; }
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
