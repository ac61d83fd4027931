#!/usr/bin/env bash
# Throughput/quality benchmark: our pipeline vs. the ffmpeg reference doing
# the same work (single decode, four x264 rungs at veryfast, AAC, HLS VOD).
#
#   pipeline/bench/bench.sh [SOURCE] [WORKDIR]      (ROUNDS=3 by default)
#
# Without SOURCE a 30 s 1080p30 clip with stereo audio is generated once
# (testsrc2 plus temporal noise, so the encoder has real work to do).
# Both commands run ROUNDS times, alternating which goes first, because a
# shared 2-core machine drifts by a few per cent between runs. Prints every
# round, the medians (wall/CPU seconds, speed ×realtime, peak RSS), per-rung
# PSNR against the source scaled to the rung size, and the throughput ratio
# of the median wall times.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${2:-${TMPDIR:-/tmp}/vod-bench}"
mkdir -p "$WORK"
SRC="${1:-$WORK/src1080p30.mp4}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HERE/../../target-pipeline}"

for tool in ffmpeg ffprobe awk /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

if [[ ! -f "$SRC" ]]; then
  echo "generating $SRC"
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=3:allf=t" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 30 \
    -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -c:a aac -ac 2 -b:a 192k "$SRC"
fi

BIN="${VOD_TRANSCODE:-}"
if [[ -z "$BIN" ]]; then
  (cd "$HERE/.." && cargo build --release -q -p vod-pipeline --bin vod-transcode)
  BIN="$CARGO_TARGET_DIR/release/vod-transcode"
fi
DUR="$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$SRC")"

OURS="$WORK/ours"; REF="$WORK/ref"
ROUNDS="${ROUNDS:-3}"

measure() { # outfile cmd...
  local out="$1"; shift
  /usr/bin/time -f "%e %U %S %M" -a -o "$out" "$@" >/dev/null
}
run_ours() { rm -rf "$OURS"; measure "$WORK/ours.time" "$BIN" -q "$SRC" "$OURS"; }
run_ref() {
  rm -rf "$REF"; mkdir -p "$REF"
  measure "$WORK/ref.time" ffmpeg -v error -y -i "$SRC" -filter_complex \
    "[0:v]split=4[a][b][c][d];[a]scale=-2:1080[v0];[b]scale=-2:720[v1];[c]scale=-2:480[v2];[d]scale=-2:360[v3]" \
    -map '[v0]' -map '[v1]' -map '[v2]' -map '[v3]' -map 0:a -c:v libx264 -preset veryfast -profile:v high \
    -g 60 -keyint_min 60 -sc_threshold 0 \
    -b:v:0 5000k -maxrate:v:0 5350k -bufsize:v:0 7500k -b:v:1 2500k -maxrate:v:1 2675k -bufsize:v:1 3750k \
    -b:v:2 1000k -maxrate:v:2 1070k -bufsize:v:2 1500k -b:v:3 500k -maxrate:v:3 535k -bufsize:v:3 750k \
    -c:a aac -b:a 128k -ac 2 -f hls -hls_time 6 -hls_playlist_type vod \
    -hls_segment_filename "$REF/%v/seg_%03d.ts" \
    -var_stream_map "v:0,agroup:aud v:1,agroup:aud v:2,agroup:aud v:3,agroup:aud a:0,agroup:aud,default:yes" \
    -master_pl_name master.m3u8 "$REF/%v/index.m3u8"
}

rm -f "$WORK/ours.time" "$WORK/ref.time"
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then run_ours; run_ref; else run_ref; run_ours; fi
done

# PSNR pairs frames by decode order through raw pipes: HLS timestamps carry
# a muxer offset and 90 kHz rounding that would mis-pair frames by time.
psnr() { # playlist width height scaler-flags
  local dir; dir="$(mktemp -d)"
  mkfifo "$dir/a" "$dir/b"
  ffmpeg -v error -i "$1" -map 0:v:0 -fps_mode passthrough -f rawvideo -pix_fmt yuv420p -y "$dir/a" &
  ffmpeg -v error -i "$SRC" -map 0:v:0 -fps_mode passthrough -vf "scale=$2:$3:flags=$4" \
    -f rawvideo -pix_fmt yuv420p -y "$dir/b" &
  ffmpeg -v info -f rawvideo -pix_fmt yuv420p -s "$2x$3" -r 30 -i "$dir/a" \
    -f rawvideo -pix_fmt yuv420p -s "$2x$3" -r 30 -i "$dir/b" -lavfi "[0:v][1:v]psnr" -f null - 2>&1 \
    | grep -o 'average:[0-9.inf]*' | cut -d: -f2
  wait
  rm -rf "$dir"
}

# The median of column expression $2 (awk) over the rounds in file $1.
median() {
  awk "{ print $2 }" "$1" | sort -n \
    | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# One line per round, then the medians.
report() { # name timefile
  awk -v n="$1" '{ printf "%-5s round %d: wall %6.2f s  cpu %6.2f s\n", n, NR, $1, $2 + $3 }' "$2"
  awk -v n="$1" -v d="$DUR" -v w="$(median "$2" '$1')" -v c="$(median "$2" '$2 + $3')" \
    -v m="$(median "$2" '$4')" 'BEGIN {
    printf "%-5s median  wall %6.2f s  cpu %6.2f s  speed %5.2fx realtime  peak RSS %5.0f MiB\n", n, w, c, d / w, m / 1024 }'
}

echo "source: $SRC (${DUR}s), $ROUNDS rounds"
report ours "$WORK/ours.time"
report ref "$WORK/ref.time"
i=0
for rung in "1080p 1920 1080" "720p 1280 720" "480p 854 480" "360p 640 360"; do
  set -- $rung
  if [[ -f "$OURS/hls/$1/index.m3u8" ]]; then
    # bicubic is ffmpeg's own scaler (the reference's encoder input, which
    # favours it); lanczos is a neutral high-quality one.
    for flags in bicubic lanczos+accurate_rnd+full_chroma_int; do
      o="$(psnr "$OURS/hls/$1/index.m3u8" "$2" "$3" "$flags")"
      r="$(psnr "$REF/$i/index.m3u8" "$2" "$3" "$flags")"
      awk -v n="$1" -v f="${flags%%+*}" -v o="$o" -v r="$r" \
        'BEGIN { printf "%-6s PSNR vs %-8s source: ours %6.2f dB  ref %6.2f dB  delta %+5.2f dB\n", n, f, o, r, o - r }'
    done
  fi
  i=$((i + 1))
done
paste -d' ' "$WORK/ours.time" "$WORK/ref.time" | awk '{ r = $5 / $1; lo = NR == 1 || r < lo ? r : lo; hi = r > hi ? r : hi }
  END { printf "per-round throughput ratio (ours/ref) %.2f-%.2f\n", lo, hi }'
awk -v o="$(median "$WORK/ours.time" '$1')" -v r="$(median "$WORK/ref.time" '$1')" \
  'BEGIN { printf "throughput ratio (ours/ref, median wall) %.2f\n", r / o }'
printf 'sprites: %s\n' "$(ls "$OURS"/thumbs/sprite_*.jpg 2>/dev/null | wc -l)"
