#!/usr/bin/env bash
# Installs Debian's Chromium for the headless browser tests when it is missing.
# playwright-core drives it at /usr/bin/chromium; `npx playwright install` cannot work here.
set -u
[ -x /usr/bin/chromium ] && exit 0
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
$SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
  || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; }
[ -x /usr/bin/chromium ] || echo "warning: chromium could not be installed; browser tests will fail" >&2
exit 0
