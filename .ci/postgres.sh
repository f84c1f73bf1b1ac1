# Sourced by .ci/run: start a throw-away PostgreSQL server (Debian's `postgresql` package) and export
# INTAKE_TEST_DB_URL, so the tests marked both_databases also run against PostgreSQL. Works on a fresh
# Debian 12 machine where nothing runs: initdb/pg_ctl of the newest installed version run as the `postgres`
# user the package creates (as root) or as ourselves, on a free port, with the data in a temporary folder
# that intake_pg_stop removes. The role logs in with a password (scram), so the tests exercise
# `[storage] password_env` the way a real shared server is configured.
# shellcheck shell=bash

_intake_as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

intake_pg_start() {
    local bin port data
    bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    [ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "postgres.sh: no PostgreSQL under /usr/lib/postgresql" >&2; return 1; }
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    data=$(mktemp -d /tmp/intake-pg.XXXXXX)
    [ "$(id -u)" != 0 ] || chown postgres: "$data"
    _intake_as_pg "$bin/initdb" -D "$data/db" -U postgres -A scram-sha-256 --auth-local=trust -E UTF8 \
        --locale=C.UTF-8 --no-sync >/dev/null
    # fsync off: a test server thrown away with its folder; the socket in $data keeps /run/postgresql out of it.
    _intake_as_pg "$bin/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 -o \
        "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
    _intake_as_pg "$bin/psql" -q -h "$data" -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE intake LOGIN CREATEDB PASSWORD 'intake-ci'" \
        -c "CREATE DATABASE intake_test OWNER intake" >/dev/null
    INTAKE_PG_BIN=$bin INTAKE_PG_DATA=$data
    export INTAKE_TEST_DB_URL="postgresql+psycopg://intake:intake-ci@127.0.0.1:$port/intake_test"
}

intake_pg_stop() {
    [ -n "${INTAKE_PG_DATA:-}" ] || return 0
    _intake_as_pg "$INTAKE_PG_BIN/pg_ctl" -D "$INTAKE_PG_DATA/db" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$INTAKE_PG_DATA"
}
