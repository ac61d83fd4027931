#!/usr/bin/env bash
# A minimal orchestrator for the demo's worker, as ECS or systemd would be:
# runs the command, and starts it again 2 s after it exits non-zero (a worker
# exits non-zero when it cannot reach Redis for VOD_WORKER_QUEUE_OUTAGE_EXIT_SECS).
# SIGTERM/SIGINT are passed on to the command, and then this script ends.
#
#   infra/lib/supervise.sh COMMAND [ARGS...]
set -u
child=0
stopping=0
stop() {
    stopping=1
    if ((child > 0)); then
        kill -TERM "$child" 2>/dev/null
        wait "$child"
    fi
    exit 0
}
trap stop TERM INT
while :; do
    "$@" &
    child=$!
    wait "$child"
    rc=$?
    ((stopping)) && exit 0
    ((rc == 0)) && exit 0
    echo "supervise: $1 exited with status $rc; starting it again in 2 s" >&2
    sleep 2
done
