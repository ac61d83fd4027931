#!/usr/bin/env bash
# Show whether each local service from infra/up.sh answers, without starting,
# installing or changing anything. Exit 0 if all answer, 1 otherwise.
set -euo pipefail

# shellcheck source=lib/common.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

if [[ ! -r "$ENV_FILE" ]]; then
    echo "no $ENV_FILE: run infra/up.sh first" >&2
    exit 1
fi
# shellcheck disable=SC1090
source "$ENV_FILE"

failed=0
# check NAME URL PORT: report whether something answers on the URL's port.
check() {
    local name="$1" url="$2" port="$3" state="down"
    if port_open "$port"; then state="up"; else failed=1; fi
    printf '%-11s %-5s %s\n' "$name" "$state" "$url"
}
port_of() { sed -E 's|^[a-z]+://([^@/]*@)?127\.0\.0\.1:([0-9]+).*|\2|' <<<"$1"; }

printf '%-11s %-5s %s\n' SERVICE STATE URL
check postgres "$VOD_DATABASE_URL" "$(port_of "$VOD_DATABASE_URL")"
check redis "$VOD_REDIS_URL" "$(port_of "$VOD_REDIS_URL")"
check s3/garage "$VOD_S3_ENDPOINT (key $VOD_S3_ACCESS_KEY_ID)" "$(port_of "$VOD_S3_ENDPOINT")"
check mongodb "$VOD_MONGODB_URL" "$(port_of "$VOD_MONGODB_URL")"
if [[ -n "${VOD_TEST_REDIS_TLS_URL:-}" ]]; then
    check redis-tls "$VOD_TEST_REDIS_TLS_URL (tests only)" "$(port_of "$VOD_TEST_REDIS_TLS_URL")"
fi
exit "$failed"
