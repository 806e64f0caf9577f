#!/usr/bin/env bash
# Makes sure a Chromium is installed for the browser tests: Debian's `chromium`,
# driven by playwright-core (Playwright's own browser downloads need the internet).
set -euo pipefail
if command -v chromium >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "browser: chromium is missing and installing it needs root" >&2; exit 1; fi
echo "browser: installing chromium from Debian" >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
