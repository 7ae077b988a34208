#!/bin/sh
# promtool for the alert rules' unit tests (tests/test_alert_rules.py), from the Debian registry:
# the `prometheus` package is downloaded and unpacked with dpkg -x (not installed: no root, no
# service started), and only its promtool binary is kept, in .tools/ (or $1).
#
# Pinned to Debian 12's build. Where that version is not in the machine's package lists (another
# Debian or Ubuntu release), the distribution's own build is taken and its version printed: any
# promtool 2.x reads the rules and their tests the same way.
set -eu
version="${PROMTOOL_DEB_VERSION:-2.42.0+ds-5+deb12u1}"
mkdir -p "${1:-.tools}"
dest=$(cd "${1:-.tools}" && pwd)
if [ -x "$dest/promtool" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
  echo "install-promtool: needs apt-get and dpkg (Debian/Ubuntu); or put a promtool binary at $dest/promtool" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download "prometheus=$version" >/dev/null 2>&1; then
  echo "install-promtool: prometheus=$version is not in this machine's package lists; using the distribution's" >&2
  apt-get download prometheus >/dev/null
fi
dpkg -x prometheus_*.deb root
install -m 0755 root/usr/bin/promtool "$dest/promtool"
"$dest/promtool" --version 2>&1 | head -1
