# Sourced by .ci/run: start a throw-away PostgreSQL server (Debian's `postgresql` package) and export
# INTAKE_TEST_DB_URL for the tests that run against it. Works as root on a fresh Debian 12 machine, where
# nothing is running: initdb/pg_ctl run as the `postgres` user the package creates, on a free port, with
# the data in a temporary folder that is removed on exit. The role logs in with a password (scram), so the
# tests exercise `[storage] password_env` like a real shared server.
# shellcheck shell=bash
intake_pg_start() {
    local bin port data
    bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
    [ -x "$bin/initdb" ] || { echo "postgres.sh: no PostgreSQL binaries under /usr/lib/postgresql" >&2; return 1; }
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    data=$(mktemp -d /tmp/intake-pg.XXXXXX)
    chown postgres: "$data"
    runuser -u postgres -- "$bin/initdb" -D "$data/db" -U postgres -A scram-sha-256 --auth-local=trust \
        -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    # fsync off: a test server, thrown away with its folder; the socket in $data keeps /run/postgresql out.
    runuser -u postgres -- "$bin/pg_ctl" -D "$data/db" -l "$data/server.log" -w -o \
        "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
    runuser -u postgres -- "$bin/psql" -q -h "$data" -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE intake LOGIN CREATEDB PASSWORD 'intake-ci'" \
        -c "CREATE DATABASE intake_test OWNER intake" >/dev/null
    INTAKE_PG_BIN=$bin INTAKE_PG_DATA=$data
    export INTAKE_TEST_DB_URL="postgresql+psycopg://intake:intake-ci@127.0.0.1:$port/intake_test"
}

intake_pg_stop() {
    [ -n "${INTAKE_PG_DATA:-}" ] || return 0
    runuser -u postgres -- "$INTAKE_PG_BIN/pg_ctl" -D "$INTAKE_PG_DATA/db" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$INTAKE_PG_DATA"
}
