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
# 8. prints the summaries and the JSON report paths, and stops the services if it started
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

# Runs the fixture tool (cmd/awfixture, a development tool: not part of the actingweb command).
fx() {
  printf '\n$ awfixture %s\n' "$*"
  "$FIXTURE_BIN" "$@"
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

say "fresh stores (drop what an earlier run left)"
rm -rf "$OUT"
mkdir -p "$OUT"
chmod 700 "$OUT"
fx drop --to "$PG"
fx drop --to "$SEED"
fx drop --to "$BACK"

say "schema upgrade"
aw schema upgrade --to "$PG"
aw schema upgrade --to "$SEED"
aw schema upgrade --to "$BACK"
# DynamoDB Local sweeps expired items once TTL is on; the fixture's attributes expired long
# ago, so turn TTL off on the demo tables to keep the comparisons deterministic.
fx ttl --to "$BACK" --enabled=false
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

say "reports (JSON, mode 0600)"
ls -l "$OUT"/*.json
say "demo finished: every copy validated equal"
