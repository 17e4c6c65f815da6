#!/usr/bin/env bash
# Runs every test: installs what is missing, builds in release mode (hashing-heavy tests need
# it), then the unit and integration tests, then the core's tests again with overflow checks.
# Exits non-zero on any failure and ends with the total.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# GLib criticals and warnings fail the GStreamer tests instead of scrolling by.
export G_DEBUG=fatal_warnings
# The examples are built as programs (tests/examples.rs runs them), not again as test harnesses.
cargo build --release --locked --lib --bins --examples --tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# Every test binary runs even when an earlier one fails, so a run reports every failure.
cargo test --release --locked --no-fail-fast --lib --bins --tests 2>&1 | tee "$log" || status=$?
# The core again with overflow checks and debug assertions (an overflow is then a failure).
cargo test --profile checked --locked --no-fail-fast --lib \
  --test format_roundtrip --test format_damage --test format_seek --test spec_vectors \
  2>&1 | tee -a "$log" || status=$?
passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s += $1} END {print s + 0}')
echo
echo "tests: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  echo "gst-h4: the test suite failed" >&2
  exit 1
fi
