#!/usr/bin/env bash
# The system packages the test suite needs, installed with apt when missing:
#   promtool (Debian package prometheus): checks and unit-tests the generated alerting rules
#   and backfills the Prometheus server the integration tests start;
#   amtool (Debian package prometheus-alertmanager): checks the generated Alertmanager
#   configurations and tests their routes;
#   chromium (Debian package chromium): the headless browser of the dashboard tests, which
#   also prints `capplan report` PDFs;
#   pdftoppm (Debian package poppler-utils): renders the report PDFs the tests write.
# Run as root it installs them; otherwise it prints the command to run and fails.
# `make test`, `make check` and `.ci/run` all call it; it does nothing when all are present.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
[ ${#missing[@]} -eq 0 ] && exit 0

command="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need the Debian packages: ${missing[*]}. Install them with:" >&2
  echo "  sudo sh -c '$command'" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need ${missing[*]} (promtool, amtool, /usr/bin/chromium and pdftoppm), and apt-get is not here to install them." >&2
  exit 1
fi
echo "Installing ${missing[*]} for the tests..." >&2
sh -c "$command"
