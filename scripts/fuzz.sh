#!/usr/bin/env bash
# Fuzz smoke run: every cargo-fuzz target for SECS seconds (default 60) from the checked-in
# seed corpus (fuzz/corpus/<target>, read-only) plus a working corpus in target/fuzz/. Needs the
# nightly toolchain and cargo-fuzz (installed if missing). Fails if a target finds a crash; the
# input is then in fuzz/artifacts/<target>/ and belongs in a regression test.
# Long campaigns: SECS=36000 scripts/fuzz.sh reader, or cargo +nightly fuzz run <target> -j 2.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(reader seeks push_parser block_headers key_file)
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo run --release -q --example fuzz_seeds >/dev/null
cargo +nightly fuzz build -O
for t in "${targets[@]}"; do
  mkdir -p "target/fuzz/corpus/$t"
  echo "== $t, ${secs} s"
  cargo +nightly fuzz run -O "$t" "target/fuzz/corpus/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 \
    | grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|artifact_prefix)|panicked|Test unit written' || true
  if ls "fuzz/artifacts/$t"/crash-* "fuzz/artifacts/$t"/timeout-* "fuzz/artifacts/$t"/oom-* >/dev/null 2>&1; then
    echo "$t: found a failing input in fuzz/artifacts/$t" >&2
    exit 1
  fi
done
