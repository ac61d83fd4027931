#!/usr/bin/env bash
# Stop what infra/up.sh started, going by our own pidfiles and state: Garage,
# nx-27017, our Redis and our own Postgres cluster if up.sh made one. A reused
# Postgres or Redis (one that was already running) is never stopped.
# Data stays in .state; to reset everything: infra/down.sh && rm -rf .state
set -euo pipefail

# shellcheck source=lib/common.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
for lib in postgres redis mongo garage; do
    # shellcheck source=/dev/null
    source "$INFRA_DIR/lib/$lib.sh"
done

[[ -d "$STATE" ]] || { log "nothing to stop: no $STATE"; exit 0; }
lock_state

garage_down
mongo_down
redis_down
postgres_down
