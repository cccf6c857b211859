#!/usr/bin/env bash
# bench.sh — whole-run throughput of the actingweb command against raw ceilings measured in
# the same run, on the same data, on the same services (`make bench`).
#
# 1. awbench gen writes the synthetic data set (internal/benchdata) once as a bundle:
#    BENCH_SCALE=1 is 20,000 actors × 50 properties = 1,000,000 property rows, ~1.5 million
#    rows in the nine tables.
# 2. PostgreSQL: actingweb import  vs  pgx CopyFrom of the same rows into the same tables
#                actingweb export  vs  COPY ... TO STDOUT of the same tables into files
#                (and, for reference, binary COPY into io.Discard)
# 3. DynamoDB Local: actingweb import vs BatchWriteItem (25 items per request)
#                    actingweb export vs parallel Scan (same requests at once, finest cut)
#                    actingweb validate vs actingweb copy (DynamoDB → PostgreSQL)
# 4. Live migration, PostgreSQL → PostgreSQL (awbench sync, the real binary), into a second
#    PostgreSQL server on this machine (as a migration has two: the source's replication slot
#    then holds back only the source's WAL): the sync's initial load vs actingweb copy of the
#    same schema into that server; a backlog of 100,000 changes applied
#    vs pgx CopyFrom of the same rows; lag p50/p99 under a steady 500 writes/s; the write
#    pause at cut-over; the sync's peak RSS.
# 5. Peak RSS of every actingweb run (/usr/bin/time -v).
# 6. The dual-write store (awbench dualwrite; needs no data set): p50/p99 latency of single
#    calls (GetProperty, SetProperty, CreateTrust, AddDiff) on PostgreSQL alone, on DynamoDB
#    Local alone and through dualwrite.Store in each phase, both ways round, against the goals
#    write-both p50 <= 1.2 x (PostgreSQL p50 + DynamoDB p50) and, with 100 % shadow reads,
#    read-new p50 <= 1.2 x the slower store's p50.
#
# Knobs (environment):
#   BENCH_SCALE=1         data set scale (0.05 = 1,000 actors, a quick run of about a minute;
#                         1 takes about an hour on 2 cores, most of it DynamoDB Local)
#   BENCH_OUT=bench-results   where results go (one directory per run, plus latest.md)
#   BENCH_KEEP=1          keep the bundles and the schemas/tables (default: removed)
#   BENCH_STEPS=pg,ddb,sync,dualwrite  which parts to run (pg: PostgreSQL import/export; ddb:
#                         the DynamoDB steps, copy and validate; sync: the live migration;
#                         dualwrite: the dual-write store's latency); the table marks the others
#                         NOT RUN. The data set is generated only for pg, ddb and sync
#   BENCH_BASELINE=REF   also build actingweb and awbench from git REF (a commit, tag or branch)
#                         and run each actingweb step of pg and ddb, the sync step and the
#                         dualwrite step with them too, alternating with this tree's build on
#                         the same data and services: the table gains a before/after section
#                         (time or p50 of this build ÷ REF's, ≤ 1.05)
#   BENCH_PROFILE=1       run the actingweb commands in-process under the CPU profiler
#                         (awbench cli --cpuprofile; <run>/<step>.cpu.pprof, read with
#                         `go tool pprof -top bin/awbench <file>`); RSS is then awbench's
#   BENCH_PG_CONC=1,2,4   CopyFrom streams the calibration tries for the PostgreSQL ceiling
#                         (one run each; the fastest is then measured BENCH_PG_REPEAT times)
#   BENCH_PG_REPEAT=3     runs of each PostgreSQL step and of its ceiling (alternating; the
#                         fastest of each side counts)
#   BENCH_DW_OPS=600      timed calls per operation and configuration in the dualwrite step (40
#                         cells; 600 take about a minute on 2 cores, after 100 untimed each)
#   BENCH_DDB_CONC=32     BatchWriteItem requests in flight, for the DynamoDB ceiling and the
#                         import alike (the import runs DDB_CONC/8 writers per table: 2 tables
#                         at once, 4 requests in flight per writer)
#
# Services come from scripts/services.sh: started if down, and stopped at the end only if this
# script started them. Every run uses its own PostgreSQL schemas and DynamoDB table prefixes.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

SCALE=${BENCH_SCALE:-1}
STEPS=${BENCH_STEPS:-pg,ddb,sync,dualwrite}
OUT=${BENCH_OUT:-$REPO/bench-results}
PG_CONC=${BENCH_PG_CONC:-1,2,4}
DDB_CONC=${BENCH_DDB_CONC:-32}
PG_REPEAT=${BENCH_PG_REPEAT:-3}
DW_OPS=${BENCH_DW_OPS:-600}
ID=$(date -u +%m%d%H%M%S)_$$
RUN=$OUT/$ID
WORK=$RUN/work
RESULTS=$RUN/results.txt
mkdir -p "$WORK"
chmod 700 "$RUN"

say() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench.sh: ERROR: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ services
STARTED_SERVICES=0
if ! status=$(scripts/services.sh status 2>&1); then
  say "services not (all) running: starting them"
  # Stop them at the end only when nothing was running before this script.
  if ! grep -q ': up' <<<"$status"; then STARTED_SERVICES=1; fi
  scripts/services.sh up >&2
fi
# shellcheck disable=SC1091
. .run/env
PG=${ACTINGWEB_TEST_PG_URL:?.run/env has no ACTINGWEB_TEST_PG_URL}
DDB=${ACTINGWEB_TEST_DYNAMODB_ENDPOINT:?.run/env has no ACTINGWEB_TEST_DYNAMODB_ENDPOINT}

pgurl() { case $PG in *\?*) printf '%s&schema=%s' "$PG" "$1" ;; *) printf '%s?schema=%s' "$PG" "$1" ;; esac; }
ddburl() { printf 'dynamodb://?endpoint=%s&prefix=%s' "$DDB" "$1"; }

S_IMP=bench_${ID}_imp   # import target, export source
S_RAW=bench_${ID}_raw   # CopyFrom ceiling target
S_CP=bench_${ID}_cp     # copy target (DynamoDB → PostgreSQL), validate side B
P_A=bench_${ID}_a       # DynamoDB import target, export/copy/validate source
P_R=bench_${ID}_r       # BatchWriteItem ceiling target
S_DW=bench_${ID}_dw     # dual-write step: PostgreSQL schema ...
P_DW=bench_${ID}_dw     # ... and DynamoDB prefix

# ------------------------------------------------------------------ tools
BIN=$WORK/bin
mkdir -p "$BIN"
say "building actingweb and awbench"
go build -o "$BIN/actingweb" ./cmd/actingweb
go build -o "$BIN/awbench" ./cmd/awbench
AW=$BIN/actingweb
AWB=$BIN/awbench
BASE=${BENCH_BASELINE:-}
AWBASE= AWBBASE=
if [ -n "$BASE" ]; then
  BASE_REV=$(git -C "$REPO" rev-parse --short "$BASE^{commit}") || die "BENCH_BASELINE=$BASE is not a commit"
  say "building actingweb at $BASE ($BASE_REV) for the before/after section"
  git -C "$REPO" worktree add -q --detach "$WORK/base-src" "$BASE_REV"
  (cd "$WORK/base-src" && go build -o "$BIN/actingweb-base" ./cmd/actingweb && go build -o "$BIN/awbench-base" ./cmd/awbench) ||
    die "building $BASE failed"
  git -C "$REPO" worktree remove --force "$WORK/base-src"
  AWBASE=$BIN/actingweb-base
  AWBBASE=$BIN/awbench-base
fi

TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing the Debian package 'time' (for peak RSS)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1; } || true
  fi
fi
[ -x "$TIME" ] || TIME=

cleanup() {
  local rc=$?
  set +e
  if [ "${BENCH_KEEP:-0}" != 1 ]; then
    say "cleaning up schemas, tables and bundles"
    for s in "$S_IMP" "$S_RAW" "$S_CP" "$S_DW"; do "$AWB" pg-drop --pg "$PG" --schema "$s" >/dev/null 2>&1; done
    for p in "$P_A" "$P_R" "${P_A}_w" "$P_DW"; do "$AWB" ddb-drop --endpoint "$DDB" --prefix "$p" >/dev/null 2>&1; done
    rm -rf "$WORK"
  else
    say "kept: schemas $S_IMP $S_RAW $S_CP, prefixes $P_A $P_R, $WORK"
  fi
  if [ -n "${TARGET_RUN:-}" ]; then
    ACTINGWEB_RUN_DIR=$TARGET_RUN scripts/services.sh down >/dev/null 2>&1
  fi
  if [ "$STARTED_SERVICES" = 1 ]; then
    say "stopping the services this script started"
    scripts/services.sh down >&2
  fi
  exit $rc
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# peak_rss_poll PID FILE: samples /proc/PID/status VmHWM until PID exits (no /usr/bin/time).
peak_rss_poll() {
  local pid=$1 file=$2 hwm=0 v
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$v" ] && hwm=$v
    sleep 0.1
  done
  echo "$hwm" >"$file"
}

# aw NAME ARGS...: runs `actingweb ARGS --report <run>/NAME.report.json`, records wall time,
# rows (from the report) and peak RSS as the line "NAME rows=... seconds=... rss_kb=..." in
# the results file. Exit code 3 of validate (a mismatch) is recorded, not fatal.
aw() {
  local name=$1; shift
  local report=$RUN/$name.report.json log=$RUN/$name.log tfile=$RUN/$name.time
  local -a cmd=("${AWBIN:-$AW}")
  if [ "${BENCH_PROFILE:-0}" = 1 ]; then cmd=("$AWB" cli --cpuprofile "$RUN/$name.cpu.pprof" --); fi
  say "actingweb $1 ($name)"
  local t0 t1 rc=0 rss=0
  t0=$(now)
  if [ -n "$TIME" ]; then
    "$TIME" -v -o "$tfile" "${cmd[@]}" "$@" --report "$report" >"$log" 2>&1 || rc=$?
    t1=$(now)
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tfile")
  else
    "${cmd[@]}" "$@" --report "$report" >"$log" 2>&1 &
    local pid=$!
    peak_rss_poll "$pid" "$tfile" &
    wait "$pid" || rc=$?
    t1=$(now)
    wait
    rss=$(cat "$tfile")
  fi
  if [ "$rc" != 0 ] && ! { [ "$rc" = 3 ] && [ "$1" = validate ]; }; then
    tail -20 "$log" >&2
    die "actingweb $1 ($name) failed with exit code $rc (log: $log)"
  fi
  local rows
  rows=$("$AWB" report-rows "$report")
  local secs
  secs=$(elapsed "$t0" "$t1")
  echo "$name ${rows%% *} seconds=$secs rss_kb=$rss exit=$rc" >>"$RESULTS"
  say "  $rows seconds=$secs peak_rss=$((rss / 1024)) MB"
  if [ "$rc" = 3 ]; then say "  WARNING: validate found differences (see $log)"; fi
}

# best NAME [LOG]: reads RESULT lines on stdin (appending them to LOG, default ceilings.log),
# records the one with the highest rows/s as NAME.
best() {
  local name=$1 log=${2:-$RUN/ceilings.log} line
  line=$(tee -a "$log" | grep "^RESULT " | awk '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      if (v["rows_per_sec"] + 0 >= bestr) { bestr = v["rows_per_sec"] + 0; best = $0 } }
    END { print best }')
  [ -n "$line" ] || die "no RESULT line for $name (see $RUN/ceilings.log)"
  local rows secs note
  rows=$(sed -E 's/.* rows=([0-9]+).*/\1/' <<<"$line")
  secs=$(sed -E 's/.* seconds=([0-9.]+).*/\1/' <<<"$line")
  note=$(sed -E 's/.* rows_per_sec=[0-9]+ ?//; s/ /,/g' <<<"$line")
  echo "$name rows=$rows seconds=$secs note=$note" >>"$RESULTS"
  say "  ceiling $name: rows=$rows seconds=$secs ($note)"
}

# calibrate NAME: reads RESULT lines on stdin (appending them to ceilings.log, marked as
# calibration) and prints the fastest one. Each ceiling with several configurations (CopyFrom
# streams; COPY TO format, layout and write path) runs every configuration once to choose
# one, and only the chosen one is measured against actingweb, as often as actingweb is: the
# best of 3 runs of one command against the best of 3 runs of another, not against the best of
# 9 or 24 runs of several (on this machine single runs vary by 10-30 %, so the minimum of more
# runs is lower by chance alone).
calibrate() {
  local name=$1 line
  line=$(grep "^RESULT " | tee >(sed 's/^RESULT /CALIBRATION /' >>"$RUN/ceilings.log") | awk '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      if (v["rows_per_sec"] + 0 >= bestr) { bestr = v["rows_per_sec"] + 0; best = $0 } }
    END { print best }')
  [ -n "$line" ] || die "no RESULT line for the calibration of $name (see $RUN/ceilings.log)"
  say "  $name: calibration chose $(sed -E 's/.* rows_per_sec=[0-9]+ ?//' <<<"$line")"
  printf '%s\n' "$line"
}
# field KEY LINE: the value of KEY=value in a RESULT line.
field() { sed -E "s/.* $1=([^ ]+).*/\1/" <<<"$2"; }

quiet=(--quiet)

# ------------------------------------------------------------------ data set
say "run $ID: scale $SCALE, results in $RUN"
{
  echo "# actingweb bench run $ID, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
} >"$RESULTS"
[ -z "$BASE" ] || echo "meta baseline=$BASE_REV" >>"$RESULTS"
BUNDLE=$WORK/bundle
if [[ ,$STEPS, == *,pg,* || ,$STEPS, == *,ddb,* || ,$STEPS, == *,sync,* ]]; then
say "generating the data set"
gen=$("$AWB" gen --scale "$SCALE" --out "$BUNDLE" 2>>"$RUN/gen.log")
echo "$gen" >>"$RUN/gen.log"
echo "meta scale=$SCALE $(sed -E 's/^RESULT name=gen //; s/ seconds=[^ ]*//; s/ rows_per_sec=[^ ]*//' <<<"$gen") bundle_bytes=$(du -sb "$BUNDLE" | cut -f1)" >>"$RESULTS"
say "  $gen"
fi

# ------------------------------------------------------------------ PostgreSQL
# Each PostgreSQL measurement runs PG_REPEAT times, alternating with its ceiling, and the
# fastest run of each side counts (the table says "best of N"): single runs of these
# 3-10 s steps vary by 10-30 % on this machine. Before every timed step (untimed) the page
# cache is written back (sync), PostgreSQL checkpoints and the tables read next are vacuumed,
# so neither side pays for the other's leftovers: dirty pages of the bundle or of the tables
# just written, autovacuum of the rows just loaded, hint bits set by the first read after a
# bulk load.
settle() { sync; "$AWB" pg-vacuum --pg "$PG" ${1:+--schema "$1"}; sync; }
if [[ ,$STEPS, == *,pg,* ]]; then
"$AW" schema upgrade --to "$(pgurl "$S_RAW")" >>"$RUN/schema.log" 2>&1
CONC=
for rep in $(seq "$PG_REPEAT"); do
  say "PostgreSQL import, run $rep of $PG_REPEAT"
  for variant in ${AWBASE:+base} new; do
    "$AWB" pg-drop --pg "$PG" --schema "$S_IMP"
    rm -rf "$WORK/st_import_pg"
    "$AW" schema upgrade --to "$(pgurl "$S_IMP")" >>"$RUN/schema.log" 2>&1
    settle
    if [ "$variant" = base ]; then
      AWBIN=$AWBASE aw import_pg_base import --to "$(pgurl "$S_IMP")" --input-dir "$BUNDLE" --state-dir "$WORK/st_import_pg" "${quiet[@]}"
    else
      aw import_pg import --to "$(pgurl "$S_IMP")" --input-dir "$BUNDLE" --state-dir "$WORK/st_import_pg" "${quiet[@]}"
    fi
  done
  if [ -z "$CONC" ]; then # the first import loaded the rows the ceiling copies
    say "ceiling calibration: pgx CopyFrom with $PG_CONC streams, one run each"
    : >"$WORK/calibration"
    for c in ${PG_CONC//,/ }; do
      settle "$S_IMP"
      "$AWB" raw-pg-copyfrom --pg "$PG" --src "$S_IMP" --dst "$S_RAW" --concurrency "$c" >>"$WORK/calibration"
    done
    cal=$(calibrate ceiling_pg_copyfrom <"$WORK/calibration")
    CONC=$(field concurrency "$cal")
  fi
  settle "$S_IMP"
  say "ceiling: pgx CopyFrom ($CONC streams)"
  "$AWB" raw-pg-copyfrom --pg "$PG" --src "$S_IMP" --dst "$S_RAW" --concurrency "$CONC" | best ceiling_pg_copyfrom
done
"$AWB" pg-drop --pg "$PG" --schema "$S_RAW"
# The export's ceiling does the same job as the export: the rows of every table leave
# PostgreSQL through COPY ... TO STDOUT and land in fsynced files on the same disk, as
# `psql -c "COPY ... TO STDOUT" > file` would, and also with direct I/O as the export writes
# (internal/blockio): text and binary, 1 stream or 4 segments x 8 workers, page cache or direct
# I/O. The calibration runs each of these eight once; the fastest is measured against the
# export.
say "ceiling calibration: COPY TO STDOUT into files, 8 configurations, one run each"
copyto() { # copyto SEGMENTS WORKERS FORMAT DIRECT
  rm -rf "$WORK/copyto"
  settle "$S_IMP"
  "$AWB" raw-pg-copyto --pg "$PG" --schema "$S_IMP" --segments "$1" --workers "$2" --format "$3" --out "$WORK/copyto" --direct="$4"
  rm -rf "$WORK/copyto"
}
: >"$WORK/calibration"
for fmt in text binary; do
  for direct in false true; do
    copyto 1 1 "$fmt" "$direct" >>"$WORK/calibration"
    copyto 4 8 "$fmt" "$direct" >>"$WORK/calibration"
  done
done
cal=$(calibrate ceiling_pg_copyto <"$WORK/calibration")
CT_SEG=$(field segments "$cal") CT_WORK=$(field workers "$cal") CT_FMT=$(field format "$cal")
CT_DIRECT=false
case $(field into "$cal") in *direct*) CT_DIRECT=true ;; esac
for rep in $(seq "$PG_REPEAT"); do
  say "PostgreSQL export, run $rep of $PG_REPEAT"
  if [ -n "$AWBASE" ]; then
    rm -rf "$WORK/export_pg"
    settle "$S_IMP"
    AWBIN=$AWBASE aw export_pg_base export --from "$(pgurl "$S_IMP")" --output-dir "$WORK/export_pg" "${quiet[@]}"
  fi
  rm -rf "$WORK/export_pg"
  settle "$S_IMP"
  aw export_pg export --from "$(pgurl "$S_IMP")" --output-dir "$WORK/export_pg" "${quiet[@]}"
  rm -rf "$WORK/export_pg"
  say "ceiling: COPY TO STDOUT into files ($CT_SEG segments, $CT_WORK workers, $CT_FMT, direct I/O $CT_DIRECT)"
  copyto "$CT_SEG" "$CT_WORK" "$CT_FMT" "$CT_DIRECT" | best ceiling_pg_copyto
done
# Reference: the same ceiling through the page cache only (what `psql -c "COPY ..." > file`
# costs), from the calibration and the runs above.
sed 's/^CALIBRATION /RESULT /' "$RUN/ceilings.log" | grep "^RESULT name=raw-pg-copyto .*into=files,fsync" |
  best ref_pg_copyto_pagecache /dev/null
say "reference: binary COPY TO STDOUT into io.Discard (nothing written)"
{
  "$AWB" raw-pg-copyto --pg "$PG" --schema "$S_IMP" --segments 1 --workers 1 --format binary
  "$AWB" raw-pg-copyto --pg "$PG" --schema "$S_IMP" --segments 4 --workers 8 --format binary
} | best ref_pg_copyto_discard
fi

# ------------------------------------------------------------------ DynamoDB Local
if [[ ,$STEPS, == *,ddb,* ]]; then
# Warm-up (untimed): DynamoDB Local is a JVM, and the first minutes after its start ran the
# timed steps 20-30 % slower than later ones (run 1121170232_9919: the import, first of the
# steps, 190 s against 154 s in a run on warm services, the ceiling measured later unaffected).
# A small data set written, scanned and dropped lets the JIT settle first, as the ceilings and
# later steps find it.
say "warming up DynamoDB Local (untimed: import and export of scale 0.05, then dropped)"
"$AWB" gen --scale 0.05 --out "$WORK/warmup" >>"$RUN/gen.log" 2>&1 || die "warm-up data set failed (see $RUN/gen.log)"
"$AW" schema upgrade --to "$(ddburl "${P_A}_w")" >>"$RUN/warmup.log" 2>&1 || die "warm-up schema failed (see $RUN/warmup.log)"
"$AW" import --to "$(ddburl "${P_A}_w")" --input-dir "$WORK/warmup" --state-dir "$WORK/st_warmup" --quiet >>"$RUN/warmup.log" 2>&1 ||
  die "warm-up import failed (see $RUN/warmup.log)"
"$AW" export --from "$(ddburl "${P_A}_w")" --output-dir "$WORK/warmup_out" --quiet >>"$RUN/warmup.log" 2>&1 || die "warm-up export failed (see $RUN/warmup.log)"
"$AWB" ddb-drop --endpoint "$DDB" --prefix "${P_A}_w" >/dev/null 2>&1 || true
rm -rf "$WORK/warmup" "$WORK/warmup_out" "$WORK/st_warmup"
"$AW" schema upgrade --to "$(ddburl "$P_A")" >>"$RUN/schema.log" 2>&1
# Same concurrency as the ceiling: each writer keeps up to 4 BatchWriteItem requests in flight
# and two tables are written at once, so DDB_CONC / 8 writers per table (default 4, the
# engine's default: 32 requests in flight in all). At 1.5 M rows, 8 writers (64 in flight)
# made DynamoDB Local slower: 173 s against 139 s.
if [ -n "$AWBASE" ]; then
  "$AW" schema upgrade --to "$(ddburl "${P_A}_b")" >>"$RUN/schema.log" 2>&1
  AWBIN=$AWBASE aw import_ddb_base import --to "$(ddburl "${P_A}_b")" --input-dir "$BUNDLE" --state-dir "$WORK/st_import_ddb_base" \
    --concurrency "$(( DDB_CONC >= 8 ? DDB_CONC / 8 : 1 ))" "${quiet[@]}"
  "$AWB" ddb-drop --endpoint "$DDB" --prefix "${P_A}_b" >/dev/null 2>&1 || true
fi
aw import_ddb import --to "$(ddburl "$P_A")" --input-dir "$BUNDLE" --state-dir "$WORK/st_import_ddb" \
  --concurrency "$(( DDB_CONC >= 8 ? DDB_CONC / 8 : 1 ))" "${quiet[@]}"
say "ceiling calibration: parallel Scan, 8 requests at once (as export: 4 scanners x 2 tables), 5 configurations, one run each"
# The same 8 requests at once over tables cut into 16 to 1,024 segments each, pages of 5000
# items (the export's, dynamodb.PreferredPageSize) and of 1000. DynamoDB Local scans a
# segment in time growing with its size squared, so finer cuts go faster
# (dynamodb.ScanSplitItems: 4 segments per table took 76 s, 256 took 18-19 s), and the export
# cuts each table by its size (dynamodb.Store.ScanSplit). Without a Limit (1 MB pages)
# DynamoDB Local scans 4-5x slower at this size. As for PostgreSQL, the fastest
# configuration is then measured as often as the export, alternating with it. The
# calibration also runs first after the import, whose last minutes leave DynamoDB Local's
# JVM busy: in run 1121235041_3947 the export, started right after it, took 22.0 s; on the
# same data later, 18.3-19.6 s.
: >"$WORK/calibration"
for segs in 16 64 256 1024; do
  "$AWB" raw-ddb-scan --endpoint "$DDB" --prefix "$P_A" --segments "$segs" --workers 8 --limit 5000 >>"$WORK/calibration"
done
"$AWB" raw-ddb-scan --endpoint "$DDB" --prefix "$P_A" --segments 256 --workers 8 --limit 1000 >>"$WORK/calibration"
cal=$(calibrate ceiling_ddb_scan <"$WORK/calibration")
SC_SEG=$(field segments "$cal") SC_LIMIT=$(field limit "$cal")
for rep in 1 2; do
  if [ -n "$AWBASE" ]; then
    AWBIN=$AWBASE aw export_ddb_base export --from "$(ddburl "$P_A")" --output-dir "$WORK/export_ddb" "${quiet[@]}"
    rm -rf "$WORK/export_ddb"
  fi
  aw export_ddb export --from "$(ddburl "$P_A")" --output-dir "$WORK/export_ddb" "${quiet[@]}"
  rm -rf "$WORK/export_ddb"
  say "ceiling: parallel Scan ($SC_SEG segments per table, 8 at once, Limit $SC_LIMIT)"
  "$AWB" raw-ddb-scan --endpoint "$DDB" --prefix "$P_A" --segments "$SC_SEG" --workers 8 --limit "$SC_LIMIT" | best ceiling_ddb_scan
done
"$AW" schema upgrade --to "$(pgurl "$S_CP")" >>"$RUN/schema.log" 2>&1
if [ -n "$AWBASE" ]; then
  "$AW" schema upgrade --to "$(pgurl "${S_CP}_b")" >>"$RUN/schema.log" 2>&1
  AWBIN=$AWBASE aw copy_ddb_pg_base copy --from "$(ddburl "$P_A")" --to "$(pgurl "${S_CP}_b")" --state-dir "$WORK/st_copy_base" "${quiet[@]}"
  "$AWB" pg-drop --pg "$PG" --schema "${S_CP}_b" >/dev/null 2>&1 || true
fi
aw copy_ddb_pg copy --from "$(ddburl "$P_A")" --to "$(pgurl "$S_CP")" --state-dir "$WORK/st_copy" "${quiet[@]}"
# The first read of freshly copied PostgreSQL tables sets their hint bits (writes): settle
# them first. With a baseline, each build validates twice, in the orders base-new and
# new-base, each run after a settle; the fastest of each counts.
settle "$S_CP"
if [ -n "$AWBASE" ]; then
  AWBIN=$AWBASE aw validate_ddb_pg_base validate --from "$(ddburl "$P_A")" --to "$(pgurl "$S_CP")" "${quiet[@]}"
  settle "$S_CP"
fi
aw validate_ddb_pg validate --from "$(ddburl "$P_A")" --to "$(pgurl "$S_CP")" "${quiet[@]}"
if [ -n "$AWBASE" ]; then
  settle "$S_CP"
  aw validate_ddb_pg validate --from "$(ddburl "$P_A")" --to "$(pgurl "$S_CP")" "${quiet[@]}"
  settle "$S_CP"
  AWBIN=$AWBASE aw validate_ddb_pg_base validate --from "$(ddburl "$P_A")" --to "$(pgurl "$S_CP")" "${quiet[@]}"
fi
say "ceiling: BatchWriteItem, 25 items per request ($DDB_CONC in flight)"
"$AWB" raw-ddb-write --endpoint "$DDB" --src "$P_A" --dst "$P_R" --concurrency "$DDB_CONC" --drop-src | best ceiling_ddb_write
# Reference: the same requests with the bundle's rows in the bundle's order, as the import
# writes them (the ceiling writes them in scan order). One session measured 138.7 s in scan
# order, 178.9 s in the bundle's and 184.5 s shuffled; full runs 173.9 / 185.9 s and
# 170.6 / 157.3 s (docs/benchmarks.md, sixth pass).
"$AWB" ddb-drop --endpoint "$DDB" --prefix "$P_R" >/dev/null
say "reference: BatchWriteItem of the bundle's rows in the bundle's order ($DDB_CONC in flight)"
"$AWB" raw-ddb-write --endpoint "$DDB" --bundle "$BUNDLE" --dst "$P_R" --concurrency "$DDB_CONC" | best ref_ddb_write_bundle /dev/null
fi

# ------------------------------------------------------------------ live migration
if [[ ,$STEPS, == *,sync,* ]]; then
if [[ ,$STEPS, != *,pg,* ]]; then # the import's schema is the sync's source
  "$AWB" pg-drop --pg "$PG" --schema "$S_IMP"
  "$AW" schema upgrade --to "$(pgurl "$S_IMP")" >>"$RUN/schema.log" 2>&1
  "$AW" import --to "$(pgurl "$S_IMP")" --input-dir "$BUNDLE" --state-dir "$WORK/st_import_sync" --quiet >>"$RUN/sync.log" 2>&1 ||
    die "import for the sync step failed (see $RUN/sync.log)"
fi
settle "$S_IMP"
say "live migration: a second PostgreSQL server as the target"
TARGET_RUN=$WORK/target-run
ACTINGWEB_RUN_DIR=$TARGET_RUN ACTINGWEB_SERVICES=postgres scripts/services.sh up >>"$RUN/sync.log" 2>&1 ||
  die "the target server did not start (see $RUN/sync.log)"
DST_PG=$(. "$TARGET_RUN/env" && printf '%s' "$ACTINGWEB_TEST_PG_URL")
say "live migration: sync (load, backlog apply, lag at 500 writes/s, cut-over) against copy and CopyFrom"
# With a baseline, its binary runs the same measurement first (its lines get the suffix _base),
# then this tree's; the sync step's own ceilings are measured by both runs.
for variant in ${AWBASE:+base} new; do
  rm -rf "$WORK/sync"
  mkdir -p "$WORK/sync"
  bin=$AW suffix=
  if [ "$variant" = base ]; then bin=$AWBASE suffix=_base; say "  with the baseline's binary ($BASE_REV)"; fi
  "$AWB" sync --bin "$bin" --pg "$PG" --dst-pg "$DST_PG" --src "$S_IMP" --work "$WORK/sync" >"$WORK/sync.results" 2>>"$RUN/sync.log" ||
    { tail -20 "$RUN/sync.log" "$WORK"/sync/sync.log >&2 || true; die "awbench sync failed (see $RUN/sync.log)"; }
  sed "s/^\([a-z_]*\) /\1$suffix /" "$WORK/sync.results" >>"$RESULTS"
  sed 's/^/  /' "$WORK/sync.results"
done
ACTINGWEB_RUN_DIR=$TARGET_RUN scripts/services.sh down >/dev/null 2>&1 || true
TARGET_RUN=
fi

# ------------------------------------------------------------------ dual-write store
# Sequential single calls on fresh tables of their own (a schema and a prefix made and dropped
# by awbench dualwrite), after untimed warm-up calls of every kind on every configuration; the
# timed calls come in 5 rounds visiting the configurations in a new random order each, so a slow
# spell of DynamoDB Local's JVM falls on all of them alike.
if [[ ,$STEPS, == *,dualwrite,* ]]; then
say "dual-write store: $DW_OPS calls per operation on each store alone and in each phase, both ways round"
# With a baseline, awbench built at it (its store and dual-write code) runs the same calls
# before and after this tree's, each run's lines suffixed _base; the fastest of each side counts.
for variant in ${AWBBASE:+base} new ${AWBBASE:+new base}; do
  awb=$AWB suffix=
  if [ "$variant" = base ]; then awb=$AWBBASE suffix=_base; say "  with awbench at the baseline ($BASE_REV)"; fi
  "$awb" dualwrite --pg "$PG" --endpoint "$DDB" --schema "$S_DW" --prefix "$P_DW" --ops "$DW_OPS" \
    >"$WORK/dualwrite.results" 2>>"$RUN/dualwrite.log" ||
    { tail -20 "$RUN/dualwrite.log" >&2; die "awbench dualwrite failed (see $RUN/dualwrite.log)"; }
  sed "s/^\([^ ]*\) /\1$suffix /" "$WORK/dualwrite.results" >>"$RESULTS"
done
fi

# ------------------------------------------------------------------ table
{
  if grep -q '^meta scale=' "$RESULTS"; then echo "# actingweb benchmark, run $ID (scale $SCALE)"; else echo "# actingweb benchmark, run $ID"; fi
  echo
  "$AWB" table "$RESULTS"
} >"$RUN/table.md"
cp "$RUN/table.md" "$OUT/latest.md"
echo
cat "$RUN/table.md"
echo
say "results: $RUN (table.md, results.txt, per-step logs and reports); also $OUT/latest.md"
