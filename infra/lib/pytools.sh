# shellcheck shell=bash disable=SC2034  # variables are read by the scripts that source this
# Python tools for the offline checks (checkov, an HCL2 parser, botocore),
# in their own virtualenv .state/venv-checks so that their pins never meet
# nx-27017's in .state/venv.

CHECKS_VENV="$STATE/venv-checks"
CHECKS_REQS="$INFRA_DIR/requirements-checks.txt"
CHECKS_LOG="$STATE/venv-checks.log"

# (Re)installs only when requirements-checks.txt changed: its SHA-256 is kept
# in a stamp inside the venv. A no-op run costs one sha256sum.
pytools_up() {
    local stamp="$CHECKS_VENV/.vod-requirements.sha256" want started
    want="$(sha256sum <"$CHECKS_REQS" | cut -d' ' -f1)"
    if [[ -x "$CHECKS_VENV/bin/checkov" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
        return 0
    fi
    # Debian's python3 (3.11 on Debian 12), as for .state/venv.
    apt_ensure pytools python3 python3-venv
    if [[ ! -x "$CHECKS_VENV/bin/python" ]]; then
        log "pytools: creating virtualenv $CHECKS_VENV"
        /usr/bin/python3 -m venv "$CHECKS_VENV" >"$CHECKS_LOG" 2>&1 ||
            die pytools "python3 -m venv failed" "$CHECKS_LOG"
    fi
    started=$SECONDS
    log "pytools: installing $(grep -v '^#' "$CHECKS_REQS" | grep . | tr '\n' ' ')(checkov: about a minute)"
    "$CHECKS_VENV/bin/pip" install -q --disable-pip-version-check -r "$CHECKS_REQS" >>"$CHECKS_LOG" 2>&1 ||
        die pytools "pip install -r $CHECKS_REQS failed" "$CHECKS_LOG"
    echo "$want" >"$stamp"
    log "pytools: installed in $((SECONDS - started))s"
}
