# shellcheck shell=bash disable=SC2034  # variables are read by the scripts that source this
# PostgreSQL 15: reuse a server already answering on VOD_PG_PORT (default 5432),
# else run a project-local cluster under .state/postgres on a free port.

PG_REUSE_PORT="${VOD_PG_PORT:-5432}"
# Our own cluster stays off 5432 by default: after `apt-get install postgresql`
# Debian's own 15/main cluster is configured for 5432 and may be started later.
PG_OWN_DEFAULT_PORT="${VOD_PG_OWN_PORT:-5433}"
PG_MODE_FILE="$STATE/postgres.mode"     # "reuse" or "own"
PG_DIR_FILE="$STATE/postgres.dir"       # where our own cluster lives
PG_URL=""
PG_PORT=""
PG_STATUS=""

# Debian puts the server binaries in a versioned directory, not on PATH.
pg_bindir() {
    local d
    for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" ]] && { echo "$d"; return 0; }
    done
    return 1
}

# The folder of our own cluster: .state/postgres normally. initdb and the
# server run as the postgres user, which must be able to reach that folder;
# when the repo sits under a directory it cannot traverse (e.g. /root), fall
# back to a folder under /var/lib/postgresql named after the repo path.
pg_own_dir() {
    if [[ -r "$PG_DIR_FILE" ]]; then cat "$PG_DIR_FILE"; return 0; fi
    local dir="$STATE/postgres"
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
        rmdir "$dir" 2>/dev/null || true
        dir="/var/lib/postgresql/vod-$(printf '%s' "$STATE" | cksum | cut -d' ' -f1)"
        warn "postgres: user postgres cannot reach $STATE; using $dir for the cluster"
        # A leftover of an earlier .state that was deleted: it is ours, by
        # name. Refuse to wipe it while its server still runs.
        if [[ -f "$dir/data/postmaster.pid" ]] &&
            kill -0 "$(head -n1 "$dir/data/postmaster.pid")" 2>/dev/null; then
            die "postgres" "an old cluster of this repo still runs from $dir; stop it: runuser -u postgres -- $(pg_bindir)/pg_ctl -D $dir/data stop"
        fi
        rm -rf "$dir"
        mkdir -p "$dir"
        chown postgres:postgres "$dir"
        chmod 700 "$dir"
    fi
    echo "$dir" >"$PG_DIR_FILE"
    echo "$dir"
}

# pg_ready PORT: a PostgreSQL server accepts connections on 127.0.0.1:PORT.
pg_ready() {
    if command -v pg_isready >/dev/null; then
        pg_isready -q -h 127.0.0.1 -p "$1" -t 3
    else
        port_open "$1"
    fi
}

# pg_vod_ok: the login the application uses works over TCP, as a superuser.
pg_vod_ok() {
    [[ "$(PGCONNECT_TIMEOUT=5 psql "$PG_URL" -w -XAtq \
        -c "select rolsuper from pg_roles where rolname = current_user" 2>/dev/null)" == t ]]
}

# pg_admin SQL: run SQL as the postgres superuser. For our own cluster, over
# its private socket; for a reused server, peer auth over Debian's socket if
# that works, else trust over TCP. -w: never prompt (CI has no stdin).
pg_admin() {
    local sql="$1"
    if [[ "$(cat "$PG_MODE_FILE" 2>/dev/null)" == own ]]; then
        runuser -u postgres -- psql -h "$(pg_own_dir)" -p "$PG_PORT" -U postgres -d postgres \
            -w -XAtq -v ON_ERROR_STOP=1 -c "$sql"
    elif runuser -u postgres -- psql -p "$PG_PORT" -d postgres -w -XAtq -c 'select 1' >/dev/null 2>&1; then
        runuser -u postgres -- psql -p "$PG_PORT" -d postgres -w -XAtq -v ON_ERROR_STOP=1 -c "$sql"
    else
        psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -w -XAtq -v ON_ERROR_STOP=1 -c "$sql"
    fi
}

# Create (or repair) the vod role and database. The role is a SUPERUSER on
# purpose: this is a dev/test server and the tests create schemas and
# databases of their own. Never do this on a shared or production server.
pg_provision() {
    pg_vod_ok && return 0
    log "postgres: creating role vod and database vod on port $PG_PORT"
    pg_admin "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vod') THEN
            CREATE ROLE vod LOGIN SUPERUSER PASSWORD 'vod';
        ELSE
            ALTER ROLE vod LOGIN SUPERUSER PASSWORD 'vod';
        END IF;
    END \$\$;" >/dev/null || die "postgres" "cannot create role vod on port $PG_PORT (no superuser access via peer or trust auth)"
    if [[ "$(pg_admin "SELECT 1 FROM pg_database WHERE datname = 'vod'")" != 1 ]]; then
        pg_admin "CREATE DATABASE vod OWNER vod" >/dev/null || die "postgres" "cannot create database vod"
    fi
    pg_vod_ok || die "postgres" "login as vod over TCP fails: $PG_URL (check pg_hba.conf of the server on port $PG_PORT)"
}

pg_own_running() {
    local dir="$1"
    [[ -f "$dir/data/PG_VERSION" ]] &&
        runuser -u postgres -- "$(pg_bindir)/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

pg_start_own() {
    local bindir dir
    apt_ensure postgres postgresql
    bindir="$(pg_bindir)" || die "postgres" "initdb not found after installing postgresql"
    echo own >"$PG_MODE_FILE"
    dir="$(pg_own_dir)"
    if pg_own_running "$dir"; then
        PG_PORT="$(saved_port postgres)"
        PG_STATUS="running"
        return 0
    fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        log "postgres: initdb in $dir/data"
        # Local socket: trust (the socket folder is private to postgres/root).
        # TCP: password (scram), so the vod:vod URL is really checked.
        runuser -u postgres -- "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --no-locale \
            --auth-local=trust --auth-host=scram-sha-256 >"$STATE/postgres-initdb.log" 2>&1 ||
            die "postgres" "initdb failed" "$STATE/postgres-initdb.log"
    fi
    PG_PORT="$(pick_port postgres "$PG_OWN_DEFAULT_PORT")"
    log "postgres: starting our own cluster on 127.0.0.1:$PG_PORT"
    # Settings go on the command line so a changed port needs no config edit.
    runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-c port=$PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='$dir'" \
        start >/dev/null 2>&1 9>&- || die "postgres" "server did not start" "$dir/postgres.log"
    save_port postgres "$PG_PORT"
    PG_STATUS="started"
}

postgres_up() {
    local mode dir
    mode="$(cat "$PG_MODE_FILE" 2>/dev/null || true)"
    if [[ "$mode" == own ]]; then
        pg_start_own
    elif pg_ready "$PG_REUSE_PORT"; then
        PG_PORT="$PG_REUSE_PORT"
        PG_STATUS="reused"
        echo reuse >"$PG_MODE_FILE"
        save_port postgres "$PG_PORT"
        # psql is needed to provision even a reused server.
        command -v psql >/dev/null || apt_ensure postgres postgresql-client
    else
        apt_ensure postgres postgresql
        # Installing the package may have started Debian's own cluster.
        if pg_ready "$PG_REUSE_PORT"; then
            PG_PORT="$PG_REUSE_PORT"
            PG_STATUS="reused"
            echo reuse >"$PG_MODE_FILE"
            save_port postgres "$PG_PORT"
        else
            pg_start_own
        fi
    fi
    PG_URL="postgres://vod:vod@127.0.0.1:$PG_PORT/vod"
    if [[ "$(cat "$PG_MODE_FILE")" == own ]]; then
        dir="$(pg_own_dir)"
        pg_provision || die "postgres" "provisioning failed" "$dir/postgres.log"
    else
        pg_provision
    fi
}

postgres_down() {
    local dir bindir
    if [[ "$(cat "$PG_MODE_FILE" 2>/dev/null || true)" != own ]]; then
        log "postgres: reused server, left running"
        return 0
    fi
    dir="$(cat "$PG_DIR_FILE" 2>/dev/null || true)"
    bindir="$(pg_bindir || true)"
    if [[ -n "$dir" && -n "$bindir" ]] && pg_own_running "$dir"; then
        log "postgres: stopping our cluster in $dir"
        runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    else
        log "postgres: our cluster is not running"
    fi
}
