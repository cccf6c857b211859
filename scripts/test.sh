#!/usr/bin/env bash
# test.sh — run the Go tests against real services on loopback.
#
#   scripts/test.sh [packages...]     (default ./...)
#
# Starts the services (scripts/services.sh up), runs go test with .run/env
# sourced, and always stops the services again, exiting with go test's
# exit code. Knobs: GOTEST_P (default 2), GOTEST_TIMEOUT (default 40m),
# GOTEST_FLAGS (extra flags, e.g. "-run Foo -v"), KEEP_SERVICES=1 (leave the
# services running afterwards).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

stop_services() {
  if [ "${KEEP_SERVICES:-0}" = 1 ]; then
    echo "test.sh: KEEP_SERVICES=1, leaving services running (scripts/services.sh down to stop)"
  else
    "$REPO/scripts/services.sh" down >/dev/null || echo "test.sh: WARNING: scripts/services.sh down failed" >&2
  fi
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$REPO/scripts/services.sh" up
# shellcheck disable=SC1091
. "$REPO/.run/env"

[ "$#" -gt 0 ] || set -- ./...
rc=0
# shellcheck disable=SC2086
go test -count=1 -p "${GOTEST_P:-2}" -timeout "${GOTEST_TIMEOUT:-40m}" ${GOTEST_FLAGS:-} "$@" || rc=$?
exit "$rc"
