#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time and prints, per target,
# the executions done and whether a crash was found. Needs a nightly
# toolchain and cargo-fuzz (installed here if missing). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1 || {
  echo "make fuzz needs the $TOOLCHAIN toolchain (rustup toolchain install $TOOLCHAIN)" >&2
  exit 1
}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p build/fuzz
printf '%-12s %12s %10s %s\n' target executions exec/s result
for target in validate negotiate manifest haproxy_csv; do
  log="build/fuzz/$target.log"
  if cargo "+$TOOLCHAIN" fuzz run --release -s none "$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see $log and fuzz/artifacts/$target)"
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  rate=$(grep -o 'exec/s: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo '?')
  printf '%-12s %12s %10s %s\n' "$target" "$execs" "$rate" "$result"
done
