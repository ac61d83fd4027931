# shellcheck shell=bash disable=SC2034  # variables are read by the scripts that source this
# Redis 7 with appendonly yes, so queued jobs survive a restart.
# A running Redis on VOD_REDIS_REUSE_PORT (default 6379) is reused only if it
# persists; otherwise we run our own (daemonized) from 6380 or the next free.
#
# Plus a second, TLS-only Redis of ours (from VOD_REDIS_TLS_PORT, default
# 6390) for the rediss:// tests (ElastiCache with transit encryption). Its
# certificate comes from a throwaway CA made with openssl under
# .state/redis-tls; up.sh exports VOD_TEST_REDIS_TLS_URL and
# VOD_TEST_REDIS_CA_FILE. A separate server, because a reused Redis is not
# ours to reconfigure.

REDIS_REUSE_PORT="${VOD_REDIS_REUSE_PORT:-6379}"
REDIS_OWN_DEFAULT_PORT="${VOD_REDIS_PORT:-6380}"
REDIS_DIR="$STATE/redis"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
REDIS_PORT=""
REDIS_STATUS=""

REDIS_TLS_DEFAULT_PORT="${VOD_REDIS_TLS_PORT:-6390}"
REDIS_TLS_DIR="$STATE/redis-tls"
REDIS_TLS_PIDFILE="$REDIS_TLS_DIR/redis.pid"
REDIS_TLS_LOG="$REDIS_TLS_DIR/redis.log"
REDIS_TLS_CA="$REDIS_TLS_DIR/ca.pem"
REDIS_TLS_PORT=""
REDIS_TLS_STATUS=""

# redis_appendonly PORT: prints the server's appendonly setting ("yes"/"no"),
# nothing if it does not answer (or has CONFIG disabled, or wants a password).
redis_appendonly() {
    timeout 5 redis-cli -h 127.0.0.1 -p "$1" --raw CONFIG GET appendonly 2>/dev/null | sed -n 2p
}

redis_wait_ready() {
    local i
    for ((i = 0; i < 100; i++)); do
        [[ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]] && return 0
        sleep 0.1
    done
    return 1
}

redis_up() {
    apt_ensure redis redis-server
    mkdir -p "$REDIS_DIR"
    if pid_alive "$REDIS_PIDFILE" redis-server; then
        REDIS_PORT="$(saved_port redis)"
        REDIS_STATUS="running"
    elif [[ "$(redis_appendonly "$REDIS_REUSE_PORT")" == yes ]]; then
        REDIS_PORT="$REDIS_REUSE_PORT"
        REDIS_STATUS="reused"
        save_port redis "$REDIS_PORT"
    else
        REDIS_PORT="$(pick_port redis "$REDIS_OWN_DEFAULT_PORT")"
        log "redis: starting our own on 127.0.0.1:$REDIS_PORT (appendonly yes)"
        # --save "" is not set: RDB snapshots stay on as a second safety net.
        redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
            --dir "$REDIS_DIR" --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" \
            --appendonly yes --appendfsync everysec >/dev/null 2>&1 9>&- ||
            die "redis" "redis-server failed to start" "$REDIS_LOG"
        redis_wait_ready "$REDIS_PORT" || die "redis" "no PONG on port $REDIS_PORT" "$REDIS_LOG"
        save_port redis "$REDIS_PORT"
        REDIS_STATUS="started"
    fi
    [[ "$(redis_appendonly "$REDIS_PORT")" == yes ]] ||
        die "redis" "server on port $REDIS_PORT does not have appendonly yes" "$REDIS_LOG"
    redis_tls_up
}

# redis_tls_certs: makes the CA and the server certificate (for 127.0.0.1 and
# localhost) unless they exist and the server certificate is valid for
# another day. Returns 0 when it made new ones, 1 when it kept the old.
redis_tls_certs() {
    local d="$REDIS_TLS_DIR"
    if [[ -r "$d/ca.pem" && -r "$d/server.pem" && -r "$d/server.key" ]] &&
        openssl x509 -checkend 86400 -noout -in "$d/server.pem" >/dev/null 2>&1; then
        return 1
    fi
    log "redis-tls: making a throwaway CA and server certificate in $d"
    # rustls (webpki) wants a CA with keyCertSign and a leaf with the host in
    # subjectAltName and serverAuth; the CN is not looked at.
    (
        umask 077
        openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -keyout "$d/ca.key" -out "$d/ca.pem" -days 3650 -subj "/CN=vod local test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" &&
            openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
                -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=127.0.0.1" &&
            printf '%s\n' "basicConstraints=critical,CA:FALSE" \
                "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
                "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$d/server.ext" &&
            openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
                -CAcreateserial -out "$d/server.pem" -days 825 -extfile "$d/server.ext"
    ) >"$d/openssl.log" 2>&1 || die "redis-tls" "openssl could not make the test certificates" "$d/openssl.log"
    rm -f "$d/server.csr" "$d/server.ext"
    # Public: tests read it; the keys stay 600.
    chmod 644 "$d/ca.pem" "$d/server.pem"
    return 0
}

redis_tls_ping() {
    timeout 2 redis-cli -h 127.0.0.1 -p "$1" --tls --cacert "$REDIS_TLS_CA" ping 2>/dev/null
}

redis_tls_up() {
    local i new_certs=0
    mkdir -p "$REDIS_TLS_DIR"
    redis_tls_certs && new_certs=1
    if pid_alive "$REDIS_TLS_PIDFILE" redis-server; then
        if ((new_certs == 0)); then
            REDIS_TLS_PORT="$(saved_port redis-tls)"
            REDIS_TLS_STATUS="running"
            return 0
        fi
        # It still serves the old certificate, which the new CA did not sign.
        log "redis-tls: restarting ours for the new certificate"
        stop_pidfile "$REDIS_TLS_PIDFILE" redis-server 10
    fi
    REDIS_TLS_PORT="$(pick_port redis-tls "$REDIS_TLS_DEFAULT_PORT" "$REDIS_PORT")"
    log "redis-tls: starting a TLS-only Redis on 127.0.0.1:$REDIS_TLS_PORT (rediss:// tests)"
    # A test fixture: no persistence, no plain-text port, no client certificates.
    redis-server --daemonize yes --bind 127.0.0.1 --port 0 --tls-port "$REDIS_TLS_PORT" \
        --tls-cert-file "$REDIS_TLS_DIR/server.pem" --tls-key-file "$REDIS_TLS_DIR/server.key" \
        --tls-ca-cert-file "$REDIS_TLS_CA" --tls-auth-clients no \
        --dir "$REDIS_TLS_DIR" --pidfile "$REDIS_TLS_PIDFILE" --logfile "$REDIS_TLS_LOG" \
        --save "" --appendonly no >/dev/null 2>&1 9>&- ||
        die "redis-tls" "redis-server failed to start with TLS" "$REDIS_TLS_LOG"
    for ((i = 0; i < 100; i++)); do
        [[ "$(redis_tls_ping "$REDIS_TLS_PORT")" == PONG ]] && break
        sleep 0.1
    done
    [[ "$(redis_tls_ping "$REDIS_TLS_PORT")" == PONG ]] ||
        die "redis-tls" "no PONG over TLS on port $REDIS_TLS_PORT" "$REDIS_TLS_LOG"
    save_port redis-tls "$REDIS_TLS_PORT"
    REDIS_TLS_STATUS="started"
}

redis_down() {
    if pid_alive "$REDIS_PIDFILE" redis-server; then
        log "redis: stopping ours (port $(saved_port redis || true))"
        # SIGTERM makes Redis fsync the AOF and exit cleanly.
        stop_pidfile "$REDIS_PIDFILE" redis-server 30
    else
        log "redis: ours is not running (a reused Redis is left alone)"
    fi
    if pid_alive "$REDIS_TLS_PIDFILE" redis-server; then
        log "redis-tls: stopping ours (port $(saved_port redis-tls || true))"
        stop_pidfile "$REDIS_TLS_PIDFILE" redis-server 10
    fi
}
