# shellcheck shell=bash disable=SC2034  # variables are read by the scripts that source this
# S3-compatible object store: Garage, built from crates.io (no prebuilt
# binaries can be downloaded here), single node, SQLite metadata.

GARAGE_VERSION="2.5.0"
GARAGE_DIR="$STATE/garage"
GARAGE_CONF="$GARAGE_DIR/garage.toml"
GARAGE_PIDFILE="$GARAGE_DIR/garage.pid"
GARAGE_LOG="$GARAGE_DIR/garage.log"
GARAGE_BUILD_LOG="$GARAGE_DIR/cargo-install.log"
GARAGE_SECRETS="$GARAGE_DIR/secrets.env"   # rpc secret + admin token, 600
GARAGE_KEYFILE="$GARAGE_DIR/key.env"       # S3 key id + secret, 600
GARAGE_KEY_NAME="vod-dev"
GARAGE_BUCKETS=(vod-sources vod-outputs)
GARAGE_BIN=""
GARAGE_BUILD_PID=""
S3_PORT=""
S3_KEY_ID=""
S3_SECRET=""
GARAGE_STATUS=""

CARGO_BIN_DIR="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"

# garage_find: sets GARAGE_BIN to a garage of the pinned version, if any.
garage_find() {
    local candidate
    for candidate in "$(type -P garage || true)" "$CARGO_BIN_DIR/garage"; do
        [[ -n "$candidate" && -x "$candidate" ]] || continue
        # `garage --version` prints e.g. "garage cargo:2.5.0 [features: ...]"
        # for a cargo build, "garage v2.5.0" for a release build.
        if "$candidate" --version 2>/dev/null | grep -Eq "[:v ]${GARAGE_VERSION//./\\.}( |$)"; then
            GARAGE_BIN="$candidate"
            return 0
        fi
    done
    return 1
}

# A `cargo install garage` already running (started by hand or by another
# up.sh): wait for it rather than building a second copy on 2 cores.
garage_foreign_build_pid() {
    local f pid
    for f in /proc/[0-9]*/cmdline; do
        pid="${f#/proc/}"
        pid="${pid%/cmdline}"
        [[ "$pid" == "$$" || "$pid" == "$GARAGE_BUILD_PID" ]] && continue
        if tr '\0' ' ' 2>/dev/null <"$f" | grep -q '^[^ ]*cargo install garage '; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

# garage_build_start: kick off the build in the background (about 12 minutes
# on 2 cores, once per machine) so the other services come up meanwhile.
garage_build_start() {
    garage_find && return 0
    mkdir -p "$GARAGE_DIR"
    garage_foreign_build_pid >/dev/null && return 0
    local cargo
    cargo="$(command -v cargo || echo "$HOME/.cargo/bin/cargo")"
    [[ -x "$cargo" ]] || die "garage" "cargo not found (install the Rust toolchain with rustup)"
    log "garage: building garage $GARAGE_VERSION with cargo install in the background (~12 min, once per machine); log: $GARAGE_BUILD_LOG"
    (
        # The trimmed build (SQLite only, bundled C libs) is faster; if it
        # fails, fall back to the default feature set.
        if ! "$cargo" install garage --version "$GARAGE_VERSION" --locked \
            --no-default-features --features bundled-libs,sqlite >"$GARAGE_BUILD_LOG" 2>&1; then
            echo "[infra] trimmed build failed; retrying with default features" >>"$GARAGE_BUILD_LOG"
            "$cargo" install garage --version "$GARAGE_VERSION" --locked >>"$GARAGE_BUILD_LOG" 2>&1
        fi
    ) 9>&- &
    GARAGE_BUILD_PID=$!
}

garage_build_wait() {
    local pid waited=0
    garage_find && return 0
    if [[ -n "$GARAGE_BUILD_PID" ]]; then
        # A line a minute, so CI logs show progress rather than silence.
        while kill -0 "$GARAGE_BUILD_PID" 2>/dev/null; do
            ((waited % 60 == 0)) && log "garage: building, ${waited}s so far ($(grep -c Compiling "$GARAGE_BUILD_LOG" || true) crates compiled)"
            sleep 5
            waited=$((waited + 5))
        done
        wait "$GARAGE_BUILD_PID" || die "garage" "cargo install garage $GARAGE_VERSION failed" "$GARAGE_BUILD_LOG"
        grep -q 'retrying with default features' "$GARAGE_BUILD_LOG" &&
            warn "garage: the trimmed build (--no-default-features --features bundled-libs,sqlite) failed; installed the default-features build"
    fi
    # Someone else's build: poll for it to end (at most an hour).
    while pid="$(garage_foreign_build_pid)"; do
        ((waited % 60 == 0)) && log "garage: waiting for the running 'cargo install garage' (pid $pid), ${waited}s so far"
        ((waited >= 3600)) && die "garage" "gave up waiting for cargo install (pid $pid)"
        sleep 5
        waited=$((waited + 5))
    done
    if ! garage_find; then
        # The other build ended without a binary: build it ourselves now.
        if [[ -z "$GARAGE_BUILD_PID" ]]; then
            garage_build_start
            garage_build_wait
            return 0
        fi
        die "garage" "no garage $GARAGE_VERSION binary after cargo install" "$GARAGE_BUILD_LOG"
    fi
}

garage() { "$GARAGE_BIN" -c "$GARAGE_CONF" "$@"; }

# Secrets are generated once and kept, so the node and its data stay valid.
garage_secrets() {
    if [[ ! -s "$GARAGE_SECRETS" ]]; then
        (
            umask 077
            printf 'RPC_SECRET=%s\nADMIN_TOKEN=%s\n' "$(random_hex 32)" "$(random_hex 32)" >"$GARAGE_SECRETS"
        )
    fi
    # shellcheck disable=SC1090
    source "$GARAGE_SECRETS"
}

# Render the config; rewrite it only when it changed (ports or secrets).
garage_render_config() {
    local rpc_port="$1" admin_port="$2" tmp
    tmp="$(mktemp "$GARAGE_DIR/garage.toml.XXXXXX")"
    sed -e "s|@GARAGE_DIR@|$GARAGE_DIR|g" -e "s|@S3_PORT@|$S3_PORT|g" \
        -e "s|@RPC_PORT@|$rpc_port|g" -e "s|@ADMIN_PORT@|$admin_port|g" \
        -e "s|@RPC_SECRET@|$RPC_SECRET|g" -e "s|@ADMIN_TOKEN@|$ADMIN_TOKEN|g" \
        "$INFRA_DIR/garage.toml.tmpl" >"$tmp"
    chmod 600 "$tmp"
    if cmp -s "$tmp" "$GARAGE_CONF"; then rm -f "$tmp"; else mv "$tmp" "$GARAGE_CONF"; fi
}

garage_start() {
    local rpc_port admin_port
    S3_PORT="$(pick_port garage-s3 3900)"
    rpc_port="$(pick_port garage-rpc 3901 "$S3_PORT")"
    admin_port="$(pick_port garage-admin 3903 "$S3_PORT" "$rpc_port")"
    garage_render_config "$rpc_port" "$admin_port"
    mkdir -p "$GARAGE_DIR/meta" "$GARAGE_DIR/data"
    log "garage: starting on 127.0.0.1:$S3_PORT (rpc $rpc_port, admin $admin_port)"
    # setsid: its own session, so it outlives this script and its terminal.
    # NO_COLOR: plain log lines (the error tail we print stays readable).
    NO_COLOR=1 setsid "$GARAGE_BIN" -c "$GARAGE_CONF" server </dev/null >>"$GARAGE_LOG" 2>&1 9>&- &
    echo $! >"$GARAGE_PIDFILE"
    local i
    for ((i = 0; i < 300; i++)); do
        pid_alive "$GARAGE_PIDFILE" garage || die "garage" "server exited at start" "$GARAGE_LOG"
        if port_open "$S3_PORT" && garage status >/dev/null 2>&1; then break; fi
        sleep 0.1
    done
    ((i < 300)) || die "garage" "server not ready after 30s" "$GARAGE_LOG"
    save_port garage-s3 "$S3_PORT"
    save_port garage-rpc "$rpc_port"
    save_port garage-admin "$admin_port"
}

# One-time cluster set-up; each step checks first, so re-runs change nothing.
garage_provision() {
    local node_id
    # Layout: a fresh node has version 0 and no role; assign 1G in zone dc1.
    if garage layout show 2>/dev/null | grep -qi 'current cluster layout version: 0'; then
        node_id="$(garage node id -q 2>/dev/null | cut -c1-16)"
        [[ "$node_id" =~ ^[0-9a-f]{16}$ ]] || die "garage" "cannot read the node id" "$GARAGE_LOG"
        log "garage: applying layout (node $node_id, zone dc1, 1G)"
        garage layout assign -z dc1 -c 1G "$node_id" >/dev/null || die "garage" "layout assign failed" "$GARAGE_LOG"
        garage layout apply --version 1 >/dev/null || die "garage" "layout apply failed" "$GARAGE_LOG"
    fi

    # Key: created once; id and secret kept in key.env (600). Garage allows
    # several keys with one name, so the id, not the name, is what we reuse.
    if [[ -s "$GARAGE_KEYFILE" ]]; then
        # shellcheck disable=SC1090
        source "$GARAGE_KEYFILE"
    fi
    if [[ -z "$S3_KEY_ID" ]] || ! garage key info "$S3_KEY_ID" >/dev/null 2>&1; then
        local out
        log "garage: creating key $GARAGE_KEY_NAME"
        out="$(garage key create "$GARAGE_KEY_NAME")" || die "garage" "key create failed" "$GARAGE_LOG"
        S3_KEY_ID="$(sed -n 's/^Key ID: *//p' <<<"$out" | head -n1)"
        S3_SECRET="$(sed -n 's/^Secret key: *//p' <<<"$out" | head -n1)"
        [[ "$S3_KEY_ID" == GK* && -n "$S3_SECRET" ]] || die "garage" "cannot parse the output of 'garage key create'"
        (
            umask 077
            printf 'S3_KEY_ID=%s\nS3_SECRET=%s\n' "$S3_KEY_ID" "$S3_SECRET" >"$GARAGE_KEYFILE"
        )
        rm -f "$GARAGE_DIR/buckets.done"
    fi

    # Buckets + permissions; buckets.done records the key they were granted to.
    [[ "$(cat "$GARAGE_DIR/buckets.done" 2>/dev/null)" == "$S3_KEY_ID" ]] && return 0
    local bucket
    for bucket in "${GARAGE_BUCKETS[@]}"; do
        if ! garage bucket info "$bucket" >/dev/null 2>&1; then
            log "garage: creating bucket $bucket"
            garage bucket create "$bucket" >/dev/null || die "garage" "bucket create $bucket failed" "$GARAGE_LOG"
        fi
        garage bucket allow --read --write --owner "$bucket" --key "$S3_KEY_ID" >/dev/null ||
            die "garage" "bucket allow $bucket failed" "$GARAGE_LOG"
    done
    echo "$S3_KEY_ID" >"$GARAGE_DIR/buckets.done"
}

# A signed S3 request with the key (curl's built-in SigV4): proves the server,
# the key and the bucket permission in one cheap round trip. Garage requires
# x-amz-content-sha256, which curl 7.88 does not add by itself.
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
garage_s3_check() {
    local bucket code
    for bucket in "${GARAGE_BUCKETS[@]}"; do
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
            --aws-sigv4 "aws:amz:garage:s3" --user "$S3_KEY_ID:$S3_SECRET" \
            -H "x-amz-content-sha256: $EMPTY_SHA256" \
            "http://127.0.0.1:$S3_PORT/$bucket?list-type=2&max-keys=1")" || true
        [[ "$code" == 200 ]] || die "garage" "signed ListObjectsV2 on $bucket returned HTTP $code" "$GARAGE_LOG"
    done
}

garage_up() {
    apt_ensure garage curl ca-certificates
    garage_build_wait
    mkdir -p "$GARAGE_DIR"
    chmod 700 "$GARAGE_DIR"
    garage_secrets
    if pid_alive "$GARAGE_PIDFILE" garage; then
        S3_PORT="$(saved_port garage-s3)"
        GARAGE_STATUS="running"
    else
        garage_start
        GARAGE_STATUS="started"
    fi
    garage_provision
    garage_s3_check
}

garage_down() {
    if pid_alive "$GARAGE_PIDFILE" garage; then
        log "garage: stopping"
        stop_pidfile "$GARAGE_PIDFILE" garage 30
    else
        log "garage: not running"
    fi
}
