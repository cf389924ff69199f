#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, UI type-check and unit tests, Rust
# unit and integration tests, and the end-to-end test in the real window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all --check

step "UI: type-check, unit tests, build"
(cd ui && npm run --silent check && npx vitest run --reporter=dot && npm run --silent build)

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust unit and integration tests"
cargo test --workspace --locked

step "end-to-end (real window under Xvfb)"
mkdir -p test-artifacts
# The only ignored test is the end-to-end one; `--workspace` keeps the feature set (and so the
# build) of the step above instead of rebuilding the GTK stack for the root package alone.
xvfb-run -a -s "-screen 0 1280x800x24" cargo test --workspace --locked -- --ignored
echo "screenshots: $(pwd)/test-artifacts"
