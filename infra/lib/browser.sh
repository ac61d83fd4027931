# shellcheck shell=bash
# The admin panel's tooling: Debian's Chromium for the end-to-end browser test
# (driven by playwright-core; never `npx playwright install`, which downloads
# a browser build) and the panel's npm packages (esbuild, hls.js,
# playwright-core) from api/panel/package-lock.json. Node and npm must be on
# the machine already.

PANEL_DIR="$REPO/api/panel"
BROWSER_STATUS=""

browser_up() {
    if [[ ! -x /usr/bin/chromium ]]; then
        apt_ensure "browser" chromium
    fi
    [[ -x /usr/bin/chromium ]] || die "browser" "/usr/bin/chromium missing after installing the chromium package"
    command -v node >/dev/null && command -v npm >/dev/null ||
        die "browser" "node and npm are needed for the admin panel's build and browser test (Node 20 or newer)"
    # npm ci when node_modules is missing or older than the lock file.
    local stamp="$PANEL_DIR/node_modules/.package-lock.json"
    if [[ ! -f "$stamp" || "$PANEL_DIR/package-lock.json" -nt "$stamp" ]]; then
        log "browser: npm ci in api/panel"
        (cd "$PANEL_DIR" && npm ci --no-audit --no-fund --loglevel=error) >>"$STATE/npm.log" 2>&1 ||
            die "browser" "npm ci in api/panel failed" "$STATE/npm.log"
    fi
    BROWSER_STATUS="$(/usr/bin/chromium --version 2>/dev/null | sed -n 's/^Chromium \([0-9.]*\).*/chromium \1/p'), node $(node --version)"
}
