# shellcheck shell=bash disable=SC2034  # variables are read by the scripts that source this
# GStreamer 1.22 (Debian 12) with the plugin sets the pipeline uses and the
# -dev packages the gstreamer-rs crates link against, plus ffmpeg/ffprobe for
# checking outputs in tests, and what a Rust build of the workspace needs:
# a C compiler (ring/aws-lc, bundled SQLite) and pkg-config (the -sys crates).
# No libssl-dev: the workspace uses rustls only.

GST_PACKAGES=(
    gstreamer1.0-tools
    gstreamer1.0-plugins-base
    gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad
    gstreamer1.0-plugins-ugly
    gstreamer1.0-libav
    libgstreamer1.0-dev
    libgstreamer-plugins-base1.0-dev
    libgstreamer-plugins-bad1.0-dev
    ffmpeg
    pkg-config
    build-essential
)
GST_VERSION=""

gstreamer_up() {
    apt_ensure gstreamer "${GST_PACKAGES[@]}"
    GST_VERSION="$(pkg-config --modversion gstreamer-1.0 2>/dev/null || true)"
    [[ "$GST_VERSION" == 1.* ]] || die "gstreamer" "pkg-config does not find gstreamer-1.0"
    command -v ffprobe >/dev/null || die "gstreamer" "ffprobe missing after installing ffmpeg"
    # One element from each plugin set, so a half-installed set shows up here
    # and not as a confusing pipeline error later.
    local element
    for element in videoconvert mp4mux hlssink2 x264enc avdec_h264; do
        if ! gst-inspect-1.0 --exists "$element"; then
            # A plugin that failed to load once (say, scanned while apt was
            # still unpacking its libraries) stays blacklisted in the
            # registry cache until the cache is rebuilt.
            rm -rf "${XDG_CACHE_HOME:-$HOME/.cache}/gstreamer-1.0"
            gst-inspect-1.0 --exists "$element" ||
                die "gstreamer" "element $element not found (gst-inspect-1.0 $element)"
        fi
    done
}
