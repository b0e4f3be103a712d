#!/usr/bin/env bash
# Run every fuzz target for a bounded time (default 60 s each).
#   bash fuzz/run.sh [seconds-per-target]
# Installs cargo-fuzz if missing. cargo-fuzz needs nightly-only compiler flags; this machine has
# one stable toolchain, so RUSTC_BOOTSTRAP=1 unlocks them.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
for t in $(cargo fuzz list); do
  echo "== fuzzing $t for ${secs}s"
  mkdir -p "corpus/$t"
  cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048
done
