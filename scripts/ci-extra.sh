#!/usr/bin/env bash
# CI hook (.ci/run calls it before the tests): Debian's Chromium for the console's browser tests
# (tests/console, launched through the Python playwright package; `playwright install` cannot download
# browsers here). Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "== chromium: already installed"
  exit 0
fi

echo "== chromium: installing Debian's package"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    SUDO="sudo -n"
  else
    echo "chromium is missing and this user cannot install packages (need root or sudo)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg (a second CI run, unattended upgrades) instead of failing on its lock.
APT=(apt-get -o DPkg::Lock::Timeout=600)
if ! $SUDO "${APT[@]}" install -y chromium; then
  $SUDO "${APT[@]}" update -q
  $SUDO "${APT[@]}" install -y chromium
fi
test -x /usr/bin/chromium
