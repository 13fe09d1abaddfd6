#!/usr/bin/env bash
# Headless Chromium for the tests that render maps in a real browser; Debian's package, installed
# once if missing.
set -euo pipefail
if command -v chromium >/dev/null || [ -x /usr/bin/chromium ]; then
  exit 0
fi
command -v apt-get >/dev/null || { echo "chromium: not installed and no apt-get here; map tests will be skipped" >&2; exit 0; }
sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
echo "chromium: installing Debian's chromium for the browser tests"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
