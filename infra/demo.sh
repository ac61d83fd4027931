#!/usr/bin/env bash
# README command 1: the main job on a fresh Debian 12 machine.
# Starts the local services, builds, starts the API and a worker, uploads a
# video (the given file, or a generated 1280x720 sample with sound) through
# POST /v1/videos, follows the job's live progress over Server-Sent Events,
# checks the result with ffprobe through the edge route and prints where to
# play it. The API and the worker keep running so the URL stays playable;
# `bash infra/demo.sh --stop` stops them.
#
#   bash infra/demo.sh [VIDEO_FILE]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export PATH="$HOME/.cargo/bin:$PATH"
demo_dir="$repo/.state/demo"

stop_demo() {
  for name in api worker; do
    if [[ -f "$demo_dir/$name.pid" ]]; then
      kill "$(cat "$demo_dir/$name.pid")" 2>/dev/null || true
      rm -f "$demo_dir/$name.pid"
    fi
  done
}
if [[ "${1:-}" == "--stop" ]]; then stop_demo; echo "demo API and worker stopped"; exit 0; fi

bash infra/up.sh
set -a
# shellcheck disable=SC1091
source .state/env
set +a

echo "== building (the first build takes several minutes)"
cargo build --locked -p vod-api -p vod-workers --bins

mkdir -p "$demo_dir"
input="${1:-}"
if [[ -z "$input" ]]; then
  input="$demo_dir/sample.mp4"
  if [[ ! -s "$input" ]]; then
    echo "== generating a 20 s 1280x720 sample with GStreamer test sources"
    gst-launch-1.0 -q -e \
      videotestsrc num-buffers=600 pattern=smpte horizontal-speed=4 ! video/x-raw,width=1280,height=720,framerate=30/1 \
        ! x264enc speed-preset=veryfast bitrate=3000 ! h264parse ! queue ! mp4mux name=mux \
        ! filesink location="$input" \
      audiotestsrc num-buffers=940 wave=sine ! audio/x-raw,rate=48000,channels=2 \
        ! audioconvert ! avenc_aac bitrate=128000 ! aacparse ! queue ! mux.
  fi
fi
[[ -f "$input" ]] || { echo "no such file: $input" >&2; exit 2; }

port="${VOD_DEMO_API_PORT:-8080}"
base="http://127.0.0.1:$port"
token_file="$demo_dir/admin-token"
[[ -s "$token_file" ]] || { umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token_file"; }
export VOD_LISTEN="127.0.0.1:$port" VOD_CDN_BASE_URL="$base/cdn" VOD_BOOTSTRAP_ADMIN_TOKEN="demo-$(cat "$token_file")"
auth="Authorization: Bearer $VOD_BOOTSTRAP_ADMIN_TOKEN"

stop_demo
echo "== starting vod-api on $base and a worker (logs in .state/demo/)"
nohup target/debug/vod-api serve >"$demo_dir/api.log" 2>&1 &
echo $! >"$demo_dir/api.pid"
# Supervised like ECS would: a worker that exits (say, after Redis was gone
# for VOD_WORKER_QUEUE_OUTAGE_EXIT_SECS) is started again.
nohup bash infra/lib/supervise.sh target/debug/vod-worker run >"$demo_dir/worker.log" 2>&1 &
echo $! >"$demo_dir/worker.pid"
for _ in $(seq 1 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$(cat "$demo_dir/api.pid")" 2>/dev/null || { echo "vod-api exited:" >&2; tail -20 "$demo_dir/api.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$base/readyz" >/dev/null || { echo "vod-api is not ready:" >&2; curl -sS "$base/readyz" >&2; exit 1; }

echo "== uploading $(basename "$input") ($(du -h "$input" | cut -f1))"
response=$(curl -sS -H "$auth" -F "title=Demo $(date -u +%H:%M:%S)" -F "description=uploaded by infra/demo.sh" \
  -F "tags=demo" -F "file=@$input" "$base/v1/videos")
video_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["video"]["id"])' <<<"$response") || {
  echo "upload failed: $response" >&2; exit 1; }
echo "video $video_id queued"

echo "== progress (Server-Sent Events from $base/v1/videos/$video_id/events)"
curl -sN -H "$auth" "$base/v1/videos/$video_id/events" | python3 -u -c '
import json, sys
for line in sys.stdin:
    if not line.startswith("data: "):
        continue
    e = json.loads(line[6:])
    state, stage, pct = e["state"], e["stage"], e["percent"]
    eta = e.get("eta_seconds")
    code, msg = e.get("error_code"), e.get("error_message")
    extra = (f"  ETA {eta} s" if eta is not None else "") + (f"  {code}: {msg}" if code else "")
    print(f"  {state:<10} {stage:<12} {pct:5.1f}%{extra}", flush=True)
'

video=$(curl -fsS -H "$auth" "$base/v1/videos/$video_id")
status=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' <<<"$video")
if [[ "$status" != "ready" ]]; then
  echo "the video ended as $status:" >&2
  python3 -m json.tool <<<"$video" >&2
  exit 1
fi
python3 - "$video" <<'PY'
import json, sys
v = json.loads(sys.argv[1])
print(f"\n== {v['title']}: {v['status']}, {v['duration_ms'] / 1000:.1f} s, {v['width']}x{v['height']}")
print(f"{'rendition':<10} {'size':<10} {'peak b/s':>10} {'avg b/s':>10}  codecs")
for r in v["renditions"]:
    size = f"{r['width']}x{r['height']}" if r["width"] else "audio"
    print(f"{r['name']:<10} {size:<10} {r['bandwidth']:>10} {r['average_bandwidth'] or 0:>10}  {r['codecs']}")
print(f"\nposter:     {v['poster_url']}\nstoryboard: {v['storyboard_url']}")
PY
playback=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["playback_url"])' <<<"$video")
echo
echo "== ffprobe through the edge route"
ffprobe -v error -show_entries stream=codec_name,width,height -of compact "$playback"
echo
echo "play it: $playback"
echo "admin panel: $base/admin/ (sign in with the demo token: printf 'demo-%s\\n' \"\$(cat .state/demo/admin-token)\")"
echo "(for example: ffplay \"$playback\", or any HLS player; stop the demo servers with: bash infra/demo.sh --stop)"
