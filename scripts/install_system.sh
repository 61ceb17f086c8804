#!/usr/bin/env bash
# Install the Debian packages the project needs: the fonts it renders with (synthetic pages, overlays) and
# Chromium for the viewer's browser tests (driven by Playwright with the system browser). Idempotent.
set -euo pipefail
PKGS="fonts-kouzan-mouhitsu fonts-aoyagi-soseki fonts-aoyagi-kouzan-t fonts-hanazono fonts-ipamj-mincho fonts-kiloji fonts-dejima-mincho chromium"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "warning: apt-get not found; install these fonts by hand:$missing" >&2; exit 0
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q $missing >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q $missing >/dev/null; }
echo "installed:$missing"
