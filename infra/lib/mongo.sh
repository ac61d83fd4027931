# shellcheck shell=bash disable=SC2034  # variables are read by the scripts that source this
# MongoDB wire-compatible server: nx-27017 (SQLite underneath), installed from
# PyPI into the project-local virtualenv .state/venv.

VENV="$STATE/venv"
MONGO_REQS="$INFRA_DIR/requirements-mongo.txt"
MONGO_DIR="$STATE/mongo"
MONGO_PIDFILE="$MONGO_DIR/nx-27017.pid"
MONGO_LOG="$MONGO_DIR/nx-27017.log"
MONGO_DEFAULT_PORT="${VOD_MONGODB_PORT:-27017}"
MONGO_PORT=""
MONGO_STATUS=""

# The venv is (re)installed only when requirements-mongo.txt changed, which a
# stamp file inside the venv records; `pip install` itself takes seconds.
mongo_venv() {
    local stamp="$VENV/.vod-requirements" want
    want="$(cksum <"$MONGO_REQS")"
    [[ -x "$VENV/bin/nx-27017" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]] && return 0
    # Debian's python3 (not whatever python3 is first on PATH) so that the
    # same interpreter is used on every machine; venv needs python3-venv.
    apt_ensure mongo python3 python3-venv
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "mongo: creating virtualenv $VENV"
        /usr/bin/python3 -m venv "$VENV" >"$STATE/venv.log" 2>&1 ||
            die "mongo" "python3 -m venv failed" "$STATE/venv.log"
    fi
    log "mongo: installing $(grep -v '^#' "$MONGO_REQS" | tr '\n' ' ')"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$MONGO_REQS" >>"$STATE/venv.log" 2>&1 ||
        die "mongo" "pip install of nx-27017 failed" "$STATE/venv.log"
    echo "$want" >"$stamp"
}

# mongo_hello PORT: a real `hello` round trip; pymongo is in the venv anyway
# (a dependency of nx-27017). Prints maxWireVersion.
mongo_hello() {
    "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys
from pymongo import MongoClient
c = MongoClient("127.0.0.1", int(sys.argv[1]), serverSelectionTimeoutMS=3000, connect=True)
print(c.admin.command("hello")["maxWireVersion"])
PY
}

mongo_up() {
    mongo_venv
    mkdir -p "$MONGO_DIR"
    if pid_alive "$MONGO_PIDFILE" nx-27017; then
        MONGO_PORT="$(saved_port mongo)"
        MONGO_STATUS="running"
        port_open "$MONGO_PORT" || die "mongo" "nx-27017 runs but does not listen on $MONGO_PORT" "$MONGO_LOG"
        return 0
    fi
    MONGO_PORT="$(pick_port mongo "$MONGO_DEFAULT_PORT")"
    log "mongo: starting nx-27017 on 127.0.0.1:$MONGO_PORT"
    # --data-dir: one SQLite file per logical database. The daemon logs
    # "db_path=/tmp/nx-27017.db" at start even so; the files go to --data-dir.
    # Its early start-up errors go to stdout, so they are appended to its log.
    # shellcheck disable=SC2094
    "$VENV/bin/nx-27017" --data-dir "$MONGO_DIR" --host 127.0.0.1 -p "$MONGO_PORT" -d \
        --pid-file "$MONGO_PIDFILE" --log-file "$MONGO_LOG" >>"$MONGO_LOG" 2>&1 9>&- ||
        die "mongo" "nx-27017 failed to start" "$MONGO_LOG"
    wait_port "$MONGO_PORT" 20 || die "mongo" "nx-27017 does not listen on port $MONGO_PORT" "$MONGO_LOG"
    [[ "$(mongo_hello "$MONGO_PORT")" =~ ^[0-9]+$ ]] ||
        die "mongo" "nx-27017 does not answer hello on port $MONGO_PORT" "$MONGO_LOG"
    save_port mongo "$MONGO_PORT"
    MONGO_STATUS="started"
}

mongo_down() {
    if pid_alive "$MONGO_PIDFILE" nx-27017; then
        log "mongo: stopping nx-27017"
        "$VENV/bin/nx-27017" --stop --pid-file "$MONGO_PIDFILE" >/dev/null 2>&1 || true
        stop_pidfile "$MONGO_PIDFILE" nx-27017 20
    else
        log "mongo: nx-27017 is not running"
    fi
}
