#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ on the stable toolchain and runs each for a bounded time:
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (default: 20 seconds, every target)
# libFuzzer with the sanitizer off: `--sanitizer none` passes rustc only stable flags, so no
# nightly toolchain is needed. Fails on the first crash, naming the input that caused it
# (saved under fuzz/artifacts/TARGET/). The instrumented build lives in
# $CARGO_TARGET_DIR/fuzz (fuzz/target without CARGO_TARGET_DIR); the corpus each run grows is
# kept next to it, the seeds in fuzz/seeds/TARGET are read and never written.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_EACH="${1:-20}"
shift || true

if ! command -v cargo-fuzz >/dev/null; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --version '^0.13' --locked --quiet
fi
TARGET_DIR="${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR/fuzz}"
TARGET_DIR="${TARGET_DIR:-$PWD/target}"
# Unoptimised by default (cargo-fuzz --dev): a far shorter cold build, which is what a bounded
# CI run needs; FUZZ_RELEASE=1 builds optimised (cargo-fuzz's default, one codegen unit per
# crate) for long runs. Debug assertions and overflow checks are on either way.
build=(--dev --sanitizer none --target-dir "$TARGET_DIR")
[ "${FUZZ_RELEASE:-0}" = 1 ] && build=(--sanitizer none --target-dir "$TARGET_DIR")

targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build "${build[@]}"

summary=()
for t in "${targets[@]}"; do
  corpus="$TARGET_DIR/corpus/$t"
  mkdir -p "$corpus" "artifacts/$t"
  log="$(mktemp)"
  echo "fuzz: $t for ${SECONDS_EACH}s"
  if ! cargo fuzz run "$t" "${build[@]}" "$corpus" "seeds/$t" -- \
      -max_total_time="$SECONDS_EACH" -print_final_stats=1 -rss_limit_mb=2048 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz: $t failed; the input is in $(pwd)/artifacts/$t/ (see docs/fuzzing.md)" >&2
    rm -f "$log"
    exit 1
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  stats="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)"
  summary+=("$(printf '%-14s %10s runs  %s' "$t" "${runs:-?}" "${stats:-}")")
  rm -f "$log"
done
printf '%s\n' "${summary[@]}"
