#!/usr/bin/env bash
# Throwaway PostgreSQL server for tests and local development.
#
#   scripts/pg_dev_server.sh start DIR [PORT]   # PORT defaults to 54329
#   scripts/pg_dev_server.sh stop DIR
#   scripts/pg_dev_server.sh status DIR
#
# `start` creates DIR if needed (data in DIR/data, unix socket in DIR, log in
# DIR/log), runs initdb on first use, starts the server listening on
# 127.0.0.1:PORT only, and makes sure a login role with CREATEDB (needed by
# pytest-django, which creates test_<name>) and a database owned by it exist.
# It prints the DATABASE_URL on stdout (the only thing written to stdout), so
#   DATABASE_URL=$(scripts/pg_dev_server.sh start /tmp/ita-pg 54329)
# works; progress messages go to stderr.
#
# `stop` stops the server (fast shutdown, immediate as a fallback); it does not
# delete DIR, so a developer can start the same cluster again later.
#
# Run as root, the server runs as the `postgres` system user (PostgreSQL
# refuses to run as root) and DIR is chowned to it; otherwise it runs as the
# current user. The binaries are looked up in $PG_BINDIR if set, else in
# /usr/lib/postgresql/*/bin (version 15 preferred), else on PATH.
#
# Role, password and database default to ita/ita/ita; override with
# PG_DEV_USER, PG_DEV_PASSWORD, PG_DEV_DB (plain identifiers only).
set -euo pipefail

PG_DEV_USER=${PG_DEV_USER:-ita}
PG_DEV_PASSWORD=${PG_DEV_PASSWORD:-ita}
PG_DEV_DB=${PG_DEV_DB:-ita}
PG_SERVER_USER=postgres  # OS user the server runs as when invoked by root

log() { printf 'pg_dev_server: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

find_bindir() {
    if [[ -n ${PG_BINDIR:-} ]]; then
        [[ -x $PG_BINDIR/pg_ctl ]] || die "PG_BINDIR=$PG_BINDIR has no pg_ctl"
        printf '%s\n' "$PG_BINDIR"
        return
    fi
    if [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then
        printf '%s\n' /usr/lib/postgresql/15/bin
        return
    fi
    local d best=""
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
        [[ -x $d/pg_ctl && -x $d/initdb ]] && best=$d  # sorted: last = newest
    done
    if [[ -n $best ]]; then
        printf '%s\n' "$best"
        return
    fi
    local p
    p=$(command -v pg_ctl || true)
    [[ -n $p ]] || die "no PostgreSQL server binaries found (install the 'postgresql' package)"
    dirname "$p"
}

# Run a command as the server's OS user, from inside DIR (so postgres never
# needs access to the caller's working directory, e.g. under /root).
as_server_user() {
    if [[ $EUID -eq 0 ]]; then
        if command -v runuser >/dev/null 2>&1; then
            (cd "$DIR" && runuser -u "$PG_SERVER_USER" -- "$@")
        else
            local cmd
            printf -v cmd '%q ' "$@"
            (cd "$DIR" && su "$PG_SERVER_USER" -s /bin/sh -c "$cmd")
        fi
    else
        (cd "$DIR" && "$@")
    fi
}

prepare_dir() {
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd -P)
    [[ $DIR != *[[:space:]]* ]] || die "DIR must not contain whitespace: $DIR"
    # The socket path must fit in sockaddr_un (107 bytes).
    (( ${#DIR} + 20 < 107 )) || die "DIR path too long for a unix socket: $DIR"
    if [[ $EUID -eq 0 ]]; then
        id -u "$PG_SERVER_USER" >/dev/null 2>&1 \
            || die "running as root but there is no '$PG_SERVER_USER' user to run the server"
        chown "$PG_SERVER_USER": "$DIR"
        [[ -d $DIR/data ]] && chown -R "$PG_SERVER_USER": "$DIR/data"
        [[ -e $DIR/log ]] && chown "$PG_SERVER_USER": "$DIR/log"
    fi
    chmod 700 "$DIR"
    as_server_user test -w "$DIR" -a -x "$DIR" \
        || die "$DIR is not accessible to the server user (is a parent directory private? use e.g. mktemp -d)"
}

server_running() {
    [[ -f $DIR/data/postmaster.pid ]] && as_server_user "$BINDIR/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

psql_admin() {
    "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"
}

cmd_start() {
    [[ $PORT =~ ^[0-9]+$ ]] && (( PORT > 0 && PORT < 65536 )) || die "invalid port: $PORT"
    [[ $PG_DEV_USER =~ ^[a-z_][a-z0-9_]*$ && $PG_DEV_DB =~ ^[a-z_][a-z0-9_]*$ ]] \
        || die "PG_DEV_USER/PG_DEV_DB must be plain lowercase identifiers"
    [[ $PG_DEV_PASSWORD != *"'"* ]] || die "PG_DEV_PASSWORD must not contain a single quote"
    prepare_dir

    if [[ ! -f $DIR/data/PG_VERSION ]]; then
        log "initdb in $DIR/data ($("$BINDIR/initdb" --version))"
        rm -rf "$DIR/data"
        local locale ok=""
        for locale in C.UTF-8 C; do
            if as_server_user "$BINDIR/initdb" -D "$DIR/data" -A trust -U postgres \
                    --encoding=UTF8 --locale="$locale" >"$DIR/initdb.log" 2>&1; then
                ok=1
                break
            fi
            log "initdb with --locale=$locale failed; see below"
            tail -n 5 "$DIR/initdb.log" >&2 || true
            rm -rf "$DIR/data"
        done
        [[ -n $ok ]] || die "initdb failed"
    fi

    if server_running; then
        log "server already running in $DIR/data"
    else
        log "starting server on 127.0.0.1:$PORT (log: $DIR/log)"
        # No TCP on other interfaces; socket in DIR, not /var/run/postgresql.
        if ! as_server_user "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
                -o "-h 127.0.0.1 -p $PORT -k $DIR" start >&2; then
            tail -n 20 "$DIR/log" >&2 || true
            die "pg_ctl start failed (port $PORT in use?)"
        fi
    fi

    if [[ -z $(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_DEV_USER'") ]]; then
        log "creating role $PG_DEV_USER (LOGIN CREATEDB)"
        psql_admin -c "CREATE ROLE $PG_DEV_USER LOGIN CREATEDB PASSWORD '$PG_DEV_PASSWORD'"
    fi
    if [[ -z $(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DEV_DB'") ]]; then
        log "creating database $PG_DEV_DB owned by $PG_DEV_USER"
        psql_admin -c "CREATE DATABASE $PG_DEV_DB OWNER $PG_DEV_USER ENCODING 'UTF8' TEMPLATE template0"
    fi

    local url="postgres://$PG_DEV_USER:$PG_DEV_PASSWORD@127.0.0.1:$PORT/$PG_DEV_DB"
    log "ready; stop with: $0 stop $DIR"
    log "export DATABASE_URL=$url"
    printf '%s\n' "$url"
}

cmd_stop() {
    if [[ ! -d $DIR/data ]]; then
        log "nothing to stop in $DIR"
        return 0
    fi
    DIR=$(cd "$DIR" && pwd -P)
    if ! server_running; then
        log "server in $DIR/data is not running"
        return 0
    fi
    log "stopping server in $DIR/data"
    if as_server_user "$BINDIR/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >&2; then
        return 0
    fi
    log "fast shutdown failed; trying immediate"
    as_server_user "$BINDIR/pg_ctl" -D "$DIR/data" -m immediate -w -t 30 stop >&2 && return 0
    local pid
    pid=$(head -n 1 "$DIR/data/postmaster.pid" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ ]]; then
        log "killing postmaster $pid"
        kill -KILL "$pid" 2>/dev/null || true
        return 0
    fi
    die "could not stop the server in $DIR/data"
}

cmd_status() {
    [[ -d $DIR/data ]] || die "no cluster in $DIR"
    DIR=$(cd "$DIR" && pwd -P)
    as_server_user "$BINDIR/pg_ctl" -D "$DIR/data" status
}

[[ $# -ge 2 ]] || usage
ACTION=$1
DIR=$2
BINDIR=$(find_bindir)
case $ACTION in
    start)
        [[ $# -le 3 ]] || usage
        PORT=${3:-54329}
        cmd_start
        ;;
    stop)   [[ $# -eq 2 ]] || usage; cmd_stop ;;
    status) [[ $# -eq 2 ]] || usage; cmd_status ;;
    *) usage ;;
esac
