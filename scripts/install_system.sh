#!/usr/bin/env bash
# Install the Debian packages the project needs. `install_system.sh demo`: what recognizing needs (the two faces
# overlays draw modern characters with). Without an argument, everything: the brush and cursive faces synthetic
# pages are rendered with, a plain Japanese face for the viewer's text (IPAGothic), and Chromium for the viewer's
# browser tests (driven by Playwright with the system browser). Idempotent.
set -euo pipefail
DEMO="fonts-ipamj-mincho fonts-hanazono"
PKGS="$DEMO fonts-kouzan-mouhitsu fonts-aoyagi-soseki fonts-aoyagi-kouzan-t fonts-kiloji fonts-dejima-mincho fonts-ipafont-gothic chromium"
[ "${1:-}" = demo ] && PKGS="$DEMO"
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
