#!/usr/bin/env bash
# README command 2: the whole test suite on a fresh Debian 12 machine.
# Installs and starts the local services (infra/up.sh), then runs
# cargo fmt --check, clippy with -D warnings and every test against them.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export PATH="$HOME/.cargo/bin:$PATH"

started=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

step "services"
bash infra/up.sh
set -a
# shellcheck disable=SC1091
source .state/env
set +a

for tool in cargo rustfmt cargo-clippy; do
  command -v "$tool" >/dev/null || { echo "missing $tool: install the Rust toolchain with rustfmt and clippy" >&2; exit 1; }
done

step "terraform checks"
# fmt, checkov and the HCL wiring tests; offline, about 25 s (terraform/README.md).
bash terraform/check.sh

step "admin panel: npm ci, build, unit tests, bundle matches sources"
# The API embeds api/panel/dist; prove the committed bundle is what the
# sources build to (esbuild output is deterministic).
(cd api/panel && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build && node --test test/)
git diff --exit-code --stat -- api/panel/dist || { echo "api/panel/dist differs from a fresh build: run 'npm run build' in api/panel and commit dist/" >&2; exit 1; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo build --bins"
# Integration tests start real worker processes from target/debug.
cargo build --workspace --bins --locked

step "cargo test"
cargo test --workspace --locked --no-fail-fast

step "done"
