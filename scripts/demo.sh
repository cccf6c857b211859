#!/usr/bin/env bash
# demo.sh — end-to-end demo of the actingweb CLI (what `make demo` runs).
#
#   scripts/demo.sh
#
# 1. starts PostgreSQL 15 and DynamoDB Local with scripts/services.sh in a run directory of
#    its own (.run-demo; shared test services in .run are never touched),
# 2. builds bin/actingweb,
# 3. creates the schema/tables (actingweb schema upgrade) of a PostgreSQL schema "demo" and the
#    DynamoDB prefixes demo_seed1 and demo_back (dropped first, so re-running works),
# 4. loads the upstream fixture (testdata/upstream-seed1, items the Python library wrote)
#    into DynamoDB demo_seed1,
# 5. copies DynamoDB → PostgreSQL and validates (exit 0 required),
# 6. copies PostgreSQL → DynamoDB demo_back and validates,
# 7. exports PostgreSQL to a bundle and validates the bundle against DynamoDB,
# 8. moves PostgreSQL to DynamoDB demo_live while a writer writes (actingweb sync, then
#    cutover: validated equal), lets the writer write to DynamoDB while the reverse sync runs,
#    and rolls back (cutover to PostgreSQL: validated equal),
# 9. prints the summaries and the JSON report paths, and stops the services if it started
#    them. Exits non-zero on any failure.
#
# Every validation compares all nine tables, the property lookup table included: the tool
# rebuilds lookup rows from properties, and where several actors share an indexed value (the
# fixture has one such e-mail address) the copy gives the lookup row the owner the source's
# lookup table names (upstream keeps the first writer), as the copy summary reports.
#
# Knobs: KEEP_SERVICES=1 (leave the services running), ACTINGWEB_DEMO_RUN_DIR (default
# <repo>/.run-demo), ACTINGWEB_DYNAMODB_HEAP (default 1g here), DEMO_OUT (default
# <run dir>/demo-out: reports, bundle, state).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

export ACTINGWEB_RUN_DIR=${ACTINGWEB_DEMO_RUN_DIR:-$REPO/.run-demo}
export ACTINGWEB_DYNAMODB_HEAP=${ACTINGWEB_DYNAMODB_HEAP:-1g}
SERVICES=$REPO/scripts/services.sh
OUT=${DEMO_OUT:-$ACTINGWEB_RUN_DIR/demo-out}
BIN=$REPO/bin/actingweb
FIXTURE_BIN=$REPO/bin/awfixture

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'demo.sh: FAILED: %s\n' "$*" >&2; exit 1; }

started=0
stop_services() {
  local rc=$?
  # Background writers and syncs of a failed run go first.
  for pid in $(jobs -p); do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$started" = 1 ] && [ "${KEEP_SERVICES:-0}" != 1 ]; then
    say "stopping the demo services"
    "$SERVICES" down >/dev/null || echo "demo.sh: WARNING: scripts/services.sh down failed" >&2
  elif [ "$started" = 1 ]; then
    echo "demo.sh: KEEP_SERVICES=1: services left running (ACTINGWEB_RUN_DIR=$ACTINGWEB_RUN_DIR $SERVICES down)"
  fi
  if [ "$rc" != 0 ]; then
    echo "demo.sh: FAILED (exit $rc); output so far is above, reports in $OUT" >&2
  fi
  exit "$rc"
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs the CLI, echoing the command line (URLs hold no passwords).
aw() {
  printf '\n$ actingweb %s\n' "$*"
  "$BIN" "$@"
}

# Starts the CLI (aw_bg) or the fixture tool (fx_bg) in the background, echoing the command
# line; BGPID is its process (not a subshell's), for stop.
aw_bg() {
  printf '\n$ actingweb %s &\n' "$*"
  "$BIN" "$@" &
  BGPID=$!
}
fx_bg() {
  printf '\n$ awfixture %s &\n' "$*"
  "$FIXTURE_BIN" "$@" &
  BGPID=$!
}

# Runs the fixture tool (cmd/awfixture, a development tool: not part of the actingweb command).
fx() {
  printf '\n$ awfixture %s\n' "$*"
  "$FIXTURE_BIN" "$@"
}

# Stops a background process with SIGTERM and fails unless it exits 0.
stop() {
  kill -TERM "$1"
  wait "$1" || die "process $1 exited with $? after SIGTERM"
}

# Waits until the sync whose state is in $1 streams and has applied more than $2 changes.
wait_applied() {
  local n=0 json applied
  while :; do
    json=$("$BIN" sync status --state-dir "$1" --json 2>/dev/null || true)
    applied=$(printf '%s' "$json" | sed -n 's/^  "applied": \([0-9]*\),$/\1/p' | head -n1)
    case "$json" in *'"phase": "streaming"'*) [ "${applied:-0}" -gt "$2" ] && return 0 ;; esac
    n=$((n + 1))
    [ "$n" -lt 1200 ] || die "the sync in $1 did not apply $2 changes within 2 minutes"
    sleep 0.1
  done
}

say "services (run dir $ACTINGWEB_RUN_DIR)"
status=$("$SERVICES" status 2>/dev/null || true)
case "$status" in
  *"postgres: up"*"dynamodb-local: up"*) echo "demo services already running: reusing them (and leaving them running)" ;;
  *) started=1 ;;
esac
"$SERVICES" up
# shellcheck disable=SC1091
. "$ACTINGWEB_RUN_DIR/env"
[ -n "${ACTINGWEB_TEST_PG_URL:-}" ] && [ -n "${ACTINGWEB_TEST_DYNAMODB_ENDPOINT:-}" ] ||
  die "$ACTINGWEB_RUN_DIR/env does not name both services"

say "build"
go build -o "$BIN" ./cmd/actingweb
go build -o "$FIXTURE_BIN" ./cmd/awfixture
"$BIN" version

# DynamoDB Local accepts any credentials; keep the SDK off the EC2 metadata service.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
export AWS_EC2_METADATA_DISABLED=true
unset DATABASE_BACKEND

case "$ACTINGWEB_TEST_PG_URL" in *\?*) sep='&' ;; *) sep='?' ;; esac
PG="${ACTINGWEB_TEST_PG_URL}${sep}schema=demo"
DDB_BASE="dynamodb://?region=us-west-1&endpoint=${ACTINGWEB_TEST_DYNAMODB_ENDPOINT}"
SEED="${DDB_BASE}&prefix=demo_seed1"
BACK="${DDB_BASE}&prefix=demo_back"
LIVE="${DDB_BASE}&prefix=demo_live"

say "fresh stores (drop what an earlier run left)"
rm -rf "$OUT"
mkdir -p "$OUT"
chmod 700 "$OUT"
fx drop --to "$PG"
fx drop --to "$SEED"
fx drop --to "$BACK"
fx drop --to "$LIVE"

say "schema upgrade"
aw schema upgrade --to "$PG"
aw schema upgrade --to "$SEED"
aw schema upgrade --to "$BACK"
aw schema upgrade --to "$LIVE"
# DynamoDB Local sweeps expired items once TTL is on; the fixture's attributes expired long
# ago, so turn TTL off on the demo tables to keep the comparisons deterministic.
fx ttl --to "$BACK" --enabled=false
fx ttl --to "$LIVE" --enabled=false
aw schema status --to "$PG"

say "load the upstream fixture into DynamoDB (prefix demo_seed1)"
fx load --to "$SEED" --dir testdata/upstream-seed1 --no-ttl

say "copy DynamoDB → PostgreSQL"
aw copy --from "$SEED" --to "$PG" --state-dir "$OUT/state-seed-to-pg" --report "$OUT/copy-dynamodb-to-postgresql.json"
aw validate --from "$SEED" --to "$PG" --report "$OUT/validate-dynamodb-to-postgresql.json"

say "copy PostgreSQL → DynamoDB (prefix demo_back)"
aw copy --from "$PG" --to "$BACK" --state-dir "$OUT/state-pg-to-back" --report "$OUT/copy-postgresql-to-dynamodb.json"
aw validate --from "$PG" --to "$BACK" --report "$OUT/validate-postgresql-to-dynamodb.json"

say "export PostgreSQL to a bundle, validate the bundle against DynamoDB"
aw export --from "$PG" --output-dir "$OUT/bundle" --gzip --report "$OUT/export-postgresql.json"
aw validate --input-dir "$OUT/bundle" --to "$BACK" --report "$OUT/validate-bundle-to-dynamodb.json"
aw validate --input-dir "$OUT/bundle" --to "$SEED" --report "$OUT/validate-bundle-to-upstream-dynamodb.json"

say "live migration: PostgreSQL (schema demo) → DynamoDB (prefix demo_live) while the application writes"
# The writer (awfixture write) does what a running deployment does: actors created and deleted
# with their rows, indexed and large properties, attributes with a TTL, trusts, subscription diffs.
fx_bg write --to "$PG" --prefix live-a- --every 50ms
WRITER=$BGPID
aw_bg sync --from "$PG" --to "$LIVE" --state-dir "$OUT/sync-forward" --progress-interval 2s
SYNC=$BGPID
wait_applied "$OUT/sync-forward" 300
say "stop the writes, cut over (waits for every change, validates, prepares the way back)"
stop "$WRITER"
aw cutover --from "$PG" --to "$LIVE" --state-dir "$OUT/sync-forward" --reverse-state-dir "$OUT/sync-back" \
  --report "$OUT/cutover-postgresql-to-dynamodb.json"
stop "$SYNC"
aw sync drop --from "$PG" --to "$LIVE" --state-dir "$OUT/sync-forward"

say "the application writes to DynamoDB; the reverse sync keeps PostgreSQL ready for a rollback"
fx_bg write --to "$LIVE" --prefix live-b- --every 0s
WRITER=$BGPID
aw_bg sync --from "$LIVE" --to "$PG" --state-dir "$OUT/sync-back" --progress-interval 2s
SYNC=$BGPID
wait_applied "$OUT/sync-back" 40
say "roll back: stop the writes, cut over to PostgreSQL again"
stop "$WRITER"
aw cutover --from "$LIVE" --to "$PG" --state-dir "$OUT/sync-back" --reverse-state-dir "$OUT/sync-forward-2" \
  --report "$OUT/cutover-dynamodb-to-postgresql.json"
stop "$SYNC"
aw sync drop --from "$LIVE" --to "$PG" --state-dir "$OUT/sync-back"
aw sync drop --from "$PG" --to "$LIVE" --state-dir "$OUT/sync-forward-2"
aw validate --from "$PG" --to "$LIVE" --report "$OUT/validate-after-rollback.json"

say "reports (JSON, mode 0600)"
ls -l "$OUT"/*.json
say "demo finished: every copy, cut-over and rollback validated equal"
