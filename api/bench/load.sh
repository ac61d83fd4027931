#!/usr/bin/env bash
# Load benchmark of the API on loopback (issue 4). Prints, in one run:
#   1. N concurrent streamed uploads of SIZE each (default 20 × 1 GiB) through
#      POST /v1/videos into S3, with the API's peak RSS (VmHWM);
#   2. GET /v1/videos/{id} latency (p50/p99) and requests/s at 64 connections,
#      cold cache and cached, with GET /healthz on the same server as the
#      reference floor;
#   3. the enqueue rate: small uploads → video row + S3 object + job, per second.
# Everything runs in its own Postgres schema, Redis prefix and Mongo database.
#
#   bash api/bench/load.sh [--uploads N] [--size-mib M] [--seconds S]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
export PATH="$HOME/.cargo/bin:$PATH"

uploads=20 size_mib=1024 seconds=15
while [[ $# -gt 0 ]]; do
  case "$1" in
    --uploads) uploads="$2"; shift 2 ;;
    --size-mib) size_mib="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

bash infra/up.sh --quiet
set -a
# shellcheck disable=SC1091
source .state/env
set +a
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }

echo "== building vod-api (release)"
cargo build --release --locked -p vod-api --bin vod-api

run="bench_$(date +%s)"
work="$(mktemp -d)"
port=18080
export VOD_DATABASE_SCHEMA="$run" VOD_REDIS_PREFIX="$run:" VOD_MONGODB_DATABASE="$run" VOD_SOURCE_KEY_PREFIX="$run/"
# The per-token write limit would turn the enqueue measurement into a 429 count.
export VOD_LISTEN="127.0.0.1:$port" VOD_BOOTSTRAP_ADMIN_TOKEN="bench-admin-$run" VOD_LOG=warn VOD_RATE_LIMIT_WRITES_PER_MINUTE=0
psql -q "$VOD_DATABASE_URL" -c "CREATE SCHEMA \"$run\""
target/release/vod-api serve >"$work/api.log" 2>&1 &
api=$!
cleanup() {
  kill "$api" 2>/dev/null || true
  psql -q "$VOD_DATABASE_URL" -c "DROP SCHEMA \"$run\" CASCADE" || true
  redis-cli -u "$VOD_REDIS_URL" --scan --pattern "$run:*" | xargs -r redis-cli -u "$VOD_REDIS_URL" del >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
base="http://127.0.0.1:$port"
auth="Authorization: Bearer $VOD_BOOTSTRAP_ADMIN_TOKEN"
for _ in $(seq 1 100); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.2; done

# A file that starts like an MP4 (the API checks magic bytes) and is sparse
# after that, so the benchmark needs no disk for its inputs.
fake_mp4() {
  printf '\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2' >"$1"
  truncate -s "$2" "$1"
}

echo
echo "== 1. $uploads concurrent uploads of $size_mib MiB"
for i in $(seq 1 "$uploads"); do fake_mp4 "$work/u$i.mp4" "$((size_mib * 1024 * 1024))"; done
rss_base=$(awk '/VmRSS/ {print $2}' "/proc/$api/status")
start=$(date +%s.%N)
pids=()
for i in $(seq 1 "$uploads"); do
  curl -sS -o "$work/u$i.json" -w '%{http_code}\n' -H "$auth" \
    -F "title=load $i" -F "file=@$work/u$i.mp4;type=video/mp4" "$base/v1/videos" >"$work/u$i.code" &
  pids+=($!)
done
wait "${pids[@]}"
end=$(date +%s.%N)
ok=$(cat "$work"/u*.code | grep -c "^201$" || true)
peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$api/status")
awk -v n="$uploads" -v mib="$size_mib" -v s="$start" -v e="$end" -v ok="$ok" -v peak="$peak_kib" -v base="$rss_base" 'BEGIN {
  t = e - s; total = n * mib;
  printf "uploads: %d/%d answered 201, %.1f GiB in %.1f s = %.0f MiB/s\n", ok, n, total / 1024, t, total / t;
  printf "API RSS: %.1f MiB before, peak %.1f MiB (target < 256 MiB)\n", base / 1024, peak / 1024 }'
id=$(sed -n 's/.*"id":"\([0-9a-f-]\{36\}\)".*/\1/p' "$work/u1.json" | head -1)
[[ -n "$id" ]] || { echo "first upload returned no video id: $(cat "$work/u1.json")" >&2; exit 1; }

latency() { # label url
  local out
  out=$(wrk -t2 -c64 -d"${seconds}s" --latency -H "$auth" "$2")
  printf '%-28s p50 %8s  p99 %8s  %10s req/s\n' "$1" \
    "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
}
echo
echo "== 2. reads at 64 connections, ${seconds} s each"
latency "GET /healthz (reference)" "$base/healthz"
latency "GET /v1/videos/{id}" "$base/v1/videos/$id"

echo
echo "== 3. enqueue rate (1 KiB uploads: row + S3 object + job), 16 connections"
fake_mp4 "$work/small.mp4" 1024
boundary="vodbench"
{
  printf -- '--%s\r\nContent-Disposition: form-data; name="title"\r\n\r\nsmall\r\n' "$boundary"
  printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="s.mp4"\r\nContent-Type: video/mp4\r\n\r\n' "$boundary"
  cat "$work/small.mp4"
  printf -- '\r\n--%s--\r\n' "$boundary"
} >"$work/body.bin"
cat >"$work/post.lua" <<LUA
local f = io.open("$work/body.bin", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "multipart/form-data; boundary=$boundary"
wrk.headers["Authorization"] = "Bearer $VOD_BOOTSTRAP_ADMIN_TOKEN"
LUA
before=$(psql -tAq "$VOD_DATABASE_URL" -c "SELECT count(*) FROM \"$run\".jobs")
out=$(wrk -t2 -c16 -d"${seconds}s" --latency -s "$work/post.lua" "$base/v1/videos")
after=$(psql -tAq "$VOD_DATABASE_URL" -c "SELECT count(*) FROM \"$run\".jobs")
non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
awk -v a="$after" -v b="$before" -v s="$seconds" -v bad="${non2xx:-0}" 'BEGIN {
  printf "enqueued %d jobs in %d s = %.0f jobs/s (non-2xx answers: %d)\n", a - b, s, (a - b) / s, bad }'
printf 'upload latency p50 %s p99 %s\n' "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")"
