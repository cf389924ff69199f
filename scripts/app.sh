#!/usr/bin/env bash
# Builds Signoff and opens it. With no workspace configured (SIGNOFF_WORKSPACE unset) it opens
# the demo workspace, created on first run in the user's data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
(cd ui && npm run --silent build)
cargo run --release --bin signoff-desktop -- "$@"
