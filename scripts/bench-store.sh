#!/usr/bin/env bash
# bench-store.sh — per-operation latency of the store's application face next to PostgreSQL's
# own single-row read latency on the same server.
#
# 1. pgbench -S (select-only, scale BENCH_PGBENCH_SCALE=10, 1 client, 1 thread,
#    BENCH_PGBENCH_SECONDS=10 s) on a database of its own, in simple and prepared query mode:
#    the average latency of one primary-key read, one call at a time.
# 2. go test -bench 'Benchmark(GetActor|GetProperty|ListTrusts|SetProperty)' on ./postgres/ and
#    ./dynamodb/ (one package at a time, BENCH_BENCHTIME=2000x calls, BENCH_COUNT=3 runs, the
#    median run reported): p50/p99 of single
#    calls (b.ReportMetric p50-µs/p99-µs, postgres/bench_test.go and dynamodb/bench_test.go).
# 3. The table: operation | PostgreSQL p50 | p99 | DynamoDB Local p50 | p99, the pgbench
#    average, and p50(single-row read) / pgbench average (target ≤ 2).
#
# Results go to bench-results/store-<id>/ (BENCH_OUT) and bench-results/latest-store.md.
# Services come from scripts/services.sh: started if down, stopped at the end only if this
# script started them.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

OUT=${BENCH_OUT:-$REPO/bench-results}
PGB_SCALE=${BENCH_PGBENCH_SCALE:-10}
PGB_SECONDS=${BENCH_PGBENCH_SECONDS:-10}
BENCHTIME=${BENCH_BENCHTIME:-2000x}
COUNT=${BENCH_COUNT:-3}
ID=$(date -u +%m%d%H%M%S)_$$
RUN=$OUT/store-$ID
mkdir -p "$RUN"

say() { printf '[bench-store %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench-store.sh: ERROR: %s\n' "$*" >&2; exit 1; }

STARTED_SERVICES=0
if ! status=$(scripts/services.sh status 2>&1); then
  say "services not (all) running: starting them"
  if ! grep -q ': up' <<<"$status"; then STARTED_SERVICES=1; fi
  scripts/services.sh up >&2
fi
# shellcheck disable=SC1091
. .run/env
PG=${ACTINGWEB_TEST_PG_URL:?.run/env has no ACTINGWEB_TEST_PG_URL}
BINDIR=${ACTINGWEB_TEST_PG_BINDIR:-/usr/lib/postgresql/15/bin}
PGBENCH=$BINDIR/pgbench
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench) || die "pgbench not found (PostgreSQL client tools)"
PSQL=$BINDIR/psql
[ -x "$PSQL" ] || PSQL=$(command -v psql) || die "psql not found"

DB=bench_pgbench_$ID
# The pgbench database's URL: the test URL with the database name replaced.
DBURL=$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$DB#" <<<"$PG")

cleanup() {
  local rc=$?
  set +e
  "$PSQL" -q -X "$PG" -c "DROP DATABASE IF EXISTS \"$DB\"" >/dev/null 2>&1
  if [ "$STARTED_SERVICES" = 1 ]; then
    say "stopping the services this script started"
    scripts/services.sh down >&2
  fi
  exit $rc
}
trap cleanup EXIT

say "pgbench: initialising database $DB at scale $PGB_SCALE"
"$PSQL" -q -X -v ON_ERROR_STOP=1 "$PG" -c "CREATE DATABASE \"$DB\"" >/dev/null
"$PGBENCH" -i -q -s "$PGB_SCALE" "$DBURL" >"$RUN/pgbench-init.log" 2>&1 || { cat "$RUN/pgbench-init.log" >&2; die "pgbench -i failed"; }
: >"$RUN/pgbench.txt"
for mode in simple prepared; do
  say "pgbench -S -M $mode -c 1 -j 1 -T $PGB_SECONDS"
  "$PGBENCH" -S -M "$mode" -c 1 -j 1 -T "$PGB_SECONDS" "$DBURL" >>"$RUN/pgbench.txt" 2>&1 ||
    { cat "$RUN/pgbench.txt" >&2; die "pgbench -S failed"; }
done
grep -E 'query mode|latency average|tps' "$RUN/pgbench.txt" >&2

say "go test -bench (postgres, then dynamodb; $BENCHTIME calls each)"
go test -p 1 -count="$COUNT" -run '^$' -bench 'Benchmark(GetActor|GetProperty|ListTrusts|SetProperty)' \
  -benchtime "$BENCHTIME" ./postgres/ ./dynamodb/ 2>&1 | tee "$RUN/gobench.txt" >&2 ||
  die "go test -bench failed (see $RUN/gobench.txt)"

{
  echo "# store latency, run $ID ($(nproc) cores, loopback PostgreSQL 15 and DynamoDB Local)"
  echo
  go run ./cmd/awbench latency-table "$RUN/gobench.txt" "$RUN/pgbench.txt"
} >"$RUN/table.md"
cp "$RUN/table.md" "$OUT/latest-store.md"
echo
cat "$RUN/table.md"
say "results: $RUN (table.md, pgbench.txt, gobench.txt); also $OUT/latest-store.md"
