#!/usr/bin/env bash
# Throughput of `h4mk export` and `h4mk verify` on a 1 GiB opaque file, and `h4mk seek` latency on
# a file with 1,000,000 keyframes. Prints figures; never fails on a timing.
# Usage: benches/format.sh [work-dir]   (needs ~2.5 GB free there; default target/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/bench}
mkdir -p "$dir"
command -v hyperfine >/dev/null || { echo "installing hyperfine" >&2; apt-get install -y -q hyperfine >/dev/null; }
cargo build --release --locked -q
h4mk=$PWD/target/release/h4mk
size=$((1 << 30))

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
[ -f "$dir/big.bin" ] && [ "$(stat -c %s "$dir/big.bin")" -eq $size ] || head -c $size /dev/urandom > "$dir/big.bin"
cat "$dir/big.bin" > /dev/null   # page cache: measure the tool, not the disk

hyperfine -N --warmup 1 --runs 5 --export-json "$dir/export.json" \
  "$h4mk export $dir/big.bin -o $dir/big.h4mk --block-size 65536" >/dev/null
hyperfine -N --warmup 1 --runs 5 --export-json "$dir/verify.json" \
  "$h4mk verify $dir/big.h4mk" >/dev/null

head -c 1000000 /dev/urandom > "$dir/m.bin"
$h4mk export "$dir/m.bin" -o "$dir/m.h4mk" --block-size 1 --gop 1 --fps 1000 2>/dev/null
hyperfine -N --warmup 5 --runs 200 --export-json "$dir/seek.json" \
  "$h4mk seek $dir/m.h4mk 777.777" >/dev/null

python3 - "$dir" "$size" <<'PY'
import json, sys, statistics
d, size = sys.argv[1], int(sys.argv[2])
def times(name):
    return json.load(open(f"{d}/{name}.json"))["results"][0]["times"]
for name in ("export", "verify"):
    t = times(name)
    med = statistics.median(t)
    print(f"h4mk {name:6} 1 GiB: median {med:.3f} s = {size / med / 1e6:.0f} MB/s (range {min(t):.3f}..{max(t):.3f} s, {len(t)} runs)")
t = times("seek")
print(f"h4mk seek, 1,000,000 keyframes (whole process): median {statistics.median(t)*1e3:.2f} ms (range {min(t)*1e3:.2f}..{max(t)*1e3:.2f} ms, {len(t)} runs)")
PY
