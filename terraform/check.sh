#!/usr/bin/env bash
# Offline checks of the Terraform module (no AWS account, no provider download):
#   1. terraform fmt -check -recursive       (formatting)
#   2. checkov                                (security/best-practice policies; 0 failed, skips carry a reason)
#   3. unittest: wiring, schema, mutations    (terraform/tests/)
# Needs the venv infra/up.sh creates (.state/venv-checks). Set
# VOD_SKIP_TERRAFORM_FMT=1 to run without the terraform binary (it cannot be
# installed from the package registries this project may use).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="${VOD_STATE_DIR:-$repo/.state}/venv-checks"

for tool in checkov python; do
    [[ -x "$venv/bin/$tool" ]] || {
        echo "terraform/check.sh: $venv/bin/$tool not found; run infra/up.sh (it installs infra/requirements-checks.txt)" >&2
        exit 1
    }
done

echo "-- terraform fmt -check -recursive"
if command -v terraform >/dev/null; then
    # No CLI config on this machine is fine; keep its warning out of the log.
    TF_CLI_CONFIG_FILE=/dev/null terraform -chdir="$here" fmt -check -recursive -diff
    echo "formatted"
elif [[ "${VOD_SKIP_TERRAFORM_FMT:-0}" == 1 ]]; then
    echo "terraform not found: formatting NOT checked (VOD_SKIP_TERRAFORM_FMT=1)"
else
    echo "terraform/check.sh: terraform not found on PATH; install Terraform >= 1.11 or set VOD_SKIP_TERRAFORM_FMT=1" >&2
    exit 1
fi

echo "-- checkov"
# --quiet prints failed checks only; every skip is a #checkov:skip comment with its reason in the .tf.
summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT
"$venv/bin/checkov" -d "$here" --framework terraform --quiet --compact --skip-download \
    --skip-path tests | tee "$summary"
grep -q 'Failed checks: 0,' "$summary" || {
    echo "terraform/check.sh: checkov did not report 0 failed checks" >&2
    exit 1
}
# Every skip in the code must give a reason.
if grep -rnE '#\s*checkov:skip=[A-Z0-9_]+\s*(:\s*)?$' "$here"/*.tf; then
    echo "terraform/check.sh: a checkov skip above has no reason" >&2
    exit 1
fi

echo "-- wiring, schema and mutation tests"
cd "$here/tests"
"$venv/bin/python" -m unittest discover -s . -p 'test_*.py'
