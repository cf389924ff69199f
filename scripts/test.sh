#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, UI type-check and unit tests, Rust
# unit and integration tests, and the end-to-end test in the real window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# setup.sh installed the models: a test that needs one fails when it does not load.
export SIGNOFF_REQUIRE_MODELS=1

step() { printf '\n== %s\n' "$*"; }
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
set -o pipefail

step "format"
cargo fmt --all --check

step "dependencies: licences, bans, sources (deny.toml)"
# Duplicate versions are warnings (deny.toml says why); shown with `cargo deny check bans`.
cargo deny --locked --log-level error check licenses bans sources
# Advisories need a local checkout of the RustSec database, which CI cannot fetch (see deny.toml).
if compgen -G "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-*/.git" >/dev/null; then
  cargo deny --locked --offline check advisories
else
  echo "advisories: not checked (no RustSec database checkout under \$CARGO_HOME/advisory-dbs; see deny.toml)"
fi

step "UI: type-check, unit tests, build"
(cd ui && npm run --silent check && npx vitest run --reporter=dot && npm run --silent build) 2>&1 | tee -a "$LOG"

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust unit and integration tests"
cargo test --workspace --locked 2>&1 | tee -a "$LOG"

step "end-to-end (real window under Xvfb)"
mkdir -p test-artifacts
# The ignored tests: the end-to-end test of the real window, and the slower model runs
# (SmolLM2 rewording, re-embedding and drafting the whole demo). `--workspace` keeps the feature
# set (and so the build) of the step above instead of rebuilding the GTK stack for the root
# package alone.
xvfb-run -a -s "-screen 0 1280x800x24" cargo test --workspace --locked -- --ignored 2>&1 | tee -a "$LOG"
echo "screenshots: $(pwd)/test-artifacts"

# One closing line over every runner: Rust test binaries and Vitest (colour codes stripped).
sed -E 's/\x1b\[[0-9;]*m//g' "$LOG" | awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($i ~ /^passed;/) p += $(i-1); if ($i ~ /^failed;/) f += $(i-1) } }
     /^ *Tests +[0-9]+ passed/ { p += $2 }
     /^ *Tests +[0-9]+ failed/ { f += $2 }
     END { printf "summary: %d passed, %d failed\n", p, f }'
