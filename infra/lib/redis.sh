# shellcheck shell=bash disable=SC2034  # variables are read by the scripts that source this
# Redis 7 with appendonly yes, so queued jobs survive a restart.
# A running Redis on VOD_REDIS_REUSE_PORT (default 6379) is reused only if it
# persists; otherwise we run our own (daemonized) from 6380 or the next free.

REDIS_REUSE_PORT="${VOD_REDIS_REUSE_PORT:-6379}"
REDIS_OWN_DEFAULT_PORT="${VOD_REDIS_PORT:-6380}"
REDIS_DIR="$STATE/redis"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
REDIS_PORT=""
REDIS_STATUS=""

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
}

redis_down() {
    if pid_alive "$REDIS_PIDFILE" redis-server; then
        log "redis: stopping ours (port $(saved_port redis || true))"
        # SIGTERM makes Redis fsync the AOF and exit cleanly.
        stop_pidfile "$REDIS_PIDFILE" redis-server 30
    else
        log "redis: ours is not running (a reused Redis is left alone)"
    fi
}
