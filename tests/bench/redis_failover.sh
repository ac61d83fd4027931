#!/usr/bin/env bash
# How a Redis failover behaves, measured: time from Redis being back to the
# next job starting, next to the job start time with Redis up (the reference,
# same run). Uses a Redis of its own (never the shared one) and a real
# vod-worker process with the production heartbeat settings.
#
#   bash tests/bench/redis_failover.sh [ROUNDS (3)] [OUTAGE_SECS (20)]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
export PATH="$HOME/.cargo/bin:$PATH"
bash infra/up.sh --quiet
set -a
# shellcheck disable=SC1091
source .state/env
set +a
cargo build --locked -p vod-workers --bin vod-worker
cargo run --locked -q -p vod-tests --example redis_failover -- "${1:-3}" "${2:-20}"
