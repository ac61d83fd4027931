# shellcheck shell=bash disable=SC2034  # variables are read by the scripts that source this
# Shared helpers for infra/up.sh, infra/down.sh and infra/status.sh.
# Sourced, never executed: the caller sets `set -euo pipefail`.

# Paths are computed from this file's location so the scripts work from any
# working directory and in any clone (CI clones the repo somewhere fresh).
INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="$(cd "$INFRA_DIR/.." && pwd)"
# VOD_STATE_DIR lets a test run use a throwaway state folder (and so its own
# services) without touching the developer's; the default is git-ignored.
STATE="${VOD_STATE_DIR:-$REPO/.state}"
PORTS_DIR="$STATE/ports"
ENV_FILE="$STATE/env"

QUIET="${QUIET:-0}"

# up.sh and down.sh hold an flock on fd 9 (.state/.lock) so that two runs do
# not race. Every daemon we start must be spawned with `9>&-`: a daemon that
# inherits the fd keeps the lock forever and the next run waits on it.
lock_state() {
    exec 9>"$STATE/.lock"
    flock 9
}

log() { [[ "$QUIET" == 1 ]] || printf '[infra] %s\n' "$*" >&2; }
warn() { printf '[infra] WARNING: %s\n' "$*" >&2; }

# die SERVICE MESSAGE [LOGFILE]: a clear message naming the service, and the
# end of its log so the cause is visible without digging through .state.
die() {
    local service="$1" message="$2" logfile="${3:-}"
    printf '\n[infra] ERROR: %s: %s\n' "$service" "$message" >&2
    if [[ -n "$logfile" && -r "$logfile" ]]; then
        printf '[infra] last lines of %s:\n' "$logfile" >&2
        tail -n 25 "$logfile" | sed 's/^/    /' >&2
    fi
    exit 1
}

# Random lowercase hex of N bytes, from coreutils only (openssl may be absent).
random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# --- processes ----------------------------------------------------------------

# pid_alive PIDFILE [NAME]: true if the pidfile names a live process whose
# command line mentions NAME (guards against a recycled pid after a reboot).
pid_alive() {
    local pidfile="$1" name="${2:-}" pid
    [[ -r "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    if [[ -n "$name" ]]; then
        tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$name" || return 1
    fi
}

# stop_pidfile PIDFILE NAME [TIMEOUT]: SIGTERM, wait, then SIGKILL.
stop_pidfile() {
    local pidfile="$1" name="$2" timeout="${3:-20}" pid i
    pid_alive "$pidfile" "$name" || { rm -f "$pidfile"; return 0; }
    pid="$(tr -dc '0-9' <"$pidfile")"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
        sleep 0.1
    done
    warn "$name (pid $pid) did not stop after ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

# --- ports --------------------------------------------------------------------

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
# Uses bash's /dev/tcp so it needs neither ss nor nc (absent on slim images).
port_open() {
    # shellcheck disable=SC2016  # $1 is expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# wait_port PORT SECONDS: poll until the port accepts connections.
wait_port() {
    local port="$1" secs="$2" i
    for ((i = 0; i < secs * 10; i++)); do
        port_open "$port" && return 0
        sleep 0.1
    done
    return 1
}

# first_free_port START [EXCLUDED...]: the first port >= START that nothing
# listens on and that is not in the excluded list (ports we already handed out
# to another service in this run but which are not bound yet).
first_free_port() {
    local port="$1" ex taken
    shift
    while ((port < 65535)); do
        taken=0
        for ex in "$@"; do [[ "$ex" == "$port" ]] && taken=1; done
        if ((taken == 0)) && ! port_open "$port"; then
            echo "$port"
            return 0
        fi
        port=$((port + 1))
    done
    return 1
}

# Chosen ports are remembered in .state/ports/NAME so that re-runs (and the
# env file) stay stable across restarts.
saved_port() { [[ -r "$PORTS_DIR/$1" ]] && tr -dc '0-9' <"$PORTS_DIR/$1"; }
save_port() {
    mkdir -p "$PORTS_DIR"
    [[ "$(saved_port "$1" || true)" == "$2" ]] || echo "$2" >"$PORTS_DIR/$1"
}

# pick_port NAME DEFAULT [EXCLUDED...]: for a service of ours that is NOT
# running: its remembered port if still free, else the first free port from
# DEFAULT (a foreign process may have taken the old one meanwhile).
pick_port() {
    local name="$1" default="$2" port
    shift 2
    port="$(saved_port "$name" || true)"
    if [[ -n "$port" ]] && ! port_open "$port"; then
        echo "$port"
        return 0
    fi
    if [[ -n "$port" ]]; then
        warn "$name: remembered port $port is now taken by another process; choosing another"
    fi
    first_free_port "$default" "$@"
}

# --- Debian packages ----------------------------------------------------------

pkg_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# apt_ensure SERVICE PKG...: install only what is missing; `apt-get update`
# runs only when something must be installed, and at most once per run.
APT_UPDATED=0
apt_ensure() {
    local service="$1" missing=() p
    shift
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    ((${#missing[@]} == 0)) && return 0
    if [[ "$(id -u)" != 0 ]]; then
        die "$service" "missing Debian packages (${missing[*]}) and not root; install them with apt-get"
    fi
    log "$service: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ((APT_UPDATED == 0)); then
        apt-get update -q >>"$STATE/apt.log" 2>&1 || die "$service" "apt-get update failed" "$STATE/apt.log"
        APT_UPDATED=1
    fi
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$STATE/apt.log" 2>&1 ||
        die "$service" "apt-get install ${missing[*]} failed" "$STATE/apt.log"
}
