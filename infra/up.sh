#!/usr/bin/env bash
# Start the local services the platform and its tests need, installing what
# is missing: PostgreSQL 15, Redis 7 (appendonly), Garage (S3), nx-27017
# (MongoDB wire protocol) and GStreamer 1.22 + ffmpeg. Idempotent: when all is
# up, a re-run changes nothing and takes seconds.
#
# Writes .state/env (sourceable `export VOD_...=...` lines, mode 600) and
# prints a summary. Exits non-zero naming the service that failed.
#
#   infra/up.sh [--quiet]
#
# Knobs (environment): VOD_STATE_DIR (default <repo>/.state), VOD_PG_PORT
# (where to look for a Postgres to reuse, default 5432), VOD_PG_OWN_PORT
# (first port for our own cluster, default 5433), VOD_REDIS_REUSE_PORT (6379),
# VOD_REDIS_PORT (first port for our own Redis, 6380), VOD_REDIS_TLS_PORT
# (first port for the TLS-only test Redis, 6390), VOD_MONGODB_PORT (27017).
set -euo pipefail

for arg in "$@"; do
    case "$arg" in
    -q | --quiet) QUIET=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "usage: $0 [--quiet]" >&2
        exit 2
        ;;
    esac
done

# shellcheck source=lib/common.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
for lib in gstreamer postgres redis mongo garage pytools browser; do
    # shellcheck source=/dev/null
    source "$INFRA_DIR/lib/$lib.sh"
done

mkdir -p "$STATE"
# One up.sh/down.sh at a time (tests may call up.sh in parallel).
lock_state

START_TIME=$SECONDS

# The garage build (first run on a machine only) is the long pole: it needs a
# C compiler and pkg-config, then goes on in the background while the other
# services are installed and started.
apt_ensure "build tools" build-essential pkg-config
# The CDN signing tests check our signatures with openssl (an independent implementation).
apt_ensure "signing tests" openssl
garage_build_start

gstreamer_up
postgres_up
redis_up
mongo_up
garage_up
pytools_up
browser_up

# --- .state/env -------------------------------------------------------------

write_env() {
    local tmp
    tmp="$(mktemp "$STATE/env.XXXXXX")"
    chmod 600 "$tmp"
    cat >"$tmp" <<EOF
# Written by infra/up.sh; source it: . .state/env
export VOD_DATABASE_URL=postgres://vod:vod@127.0.0.1:$PG_PORT/vod
export VOD_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/
export VOD_TEST_REDIS_TLS_URL=rediss://127.0.0.1:$REDIS_TLS_PORT/
export VOD_TEST_REDIS_CA_FILE=$REDIS_TLS_CA
export VOD_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export VOD_S3_REGION=garage
export VOD_S3_ACCESS_KEY_ID=$S3_KEY_ID
export VOD_S3_SECRET_ACCESS_KEY=$S3_SECRET
export VOD_S3_SOURCES_BUCKET=${GARAGE_BUCKETS[0]}
export VOD_S3_OUTPUTS_BUCKET=${GARAGE_BUCKETS[1]}
export VOD_S3_SOURCES_CORS_ORIGINS='*'
export VOD_MONGODB_URL=mongodb://127.0.0.1:$MONGO_PORT/
export VOD_MONGODB_DATABASE=vod
EOF
    # Rewrite only on change, so a no-op run leaves the file untouched.
    if cmp -s "$tmp" "$ENV_FILE"; then rm -f "$tmp"; else mv "$tmp" "$ENV_FILE"; fi
}
write_env

# --- summary (never the S3 secret) --------------------------------------------

{
    printf '\n%-11s %-8s %s\n' SERVICE STATUS URL
    printf '%-11s %-8s %s\n' postgres "$PG_STATUS" "$PG_URL"
    printf '%-11s %-8s %s\n' redis "$REDIS_STATUS" "redis://127.0.0.1:$REDIS_PORT/ (appendonly yes)"
    printf '%-11s %-8s %s\n' redis-tls "$REDIS_TLS_STATUS" "rediss://127.0.0.1:$REDIS_TLS_PORT/ (tests only, CA $REDIS_TLS_CA)"
    printf '%-11s %-8s %s\n' s3/garage "$GARAGE_STATUS" "http://127.0.0.1:$S3_PORT (region garage, path-style, key $S3_KEY_ID, buckets ${GARAGE_BUCKETS[*]})"
    printf '%-11s %-8s %s\n' mongodb "$MONGO_STATUS" "mongodb://127.0.0.1:$MONGO_PORT/ (nx-27017, database vod)"
    printf '%-11s %-8s %s\n' gstreamer ok "$GST_VERSION (ffmpeg/ffprobe, plugins base/good/bad/ugly/libav)"
    printf '%-11s %-8s %s\n' pytools ok "$CHECKS_VENV (checkov, HCL2 parser, botocore)"
    printf '%-11s %-8s %s\n' browser ok "$BROWSER_STATUS (admin panel build and e2e test)"
    printf '\nenv: %s  (source it: . %s)   took %ss\n' "$ENV_FILE" "$ENV_FILE" "$((SECONDS - START_TIME))"
}
