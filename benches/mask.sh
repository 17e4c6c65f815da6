#!/usr/bin/env bash
# h4mask against the raw ciphers it uses (in-process, same run) and against openssl's
# AES-256-GCM on the same buffer size, five runs each: medians and ranges. Prints figures;
# never fails on a timing.
# Usage: benches/mask.sh [MiB] [block KiB] [runs]   (default 1024 MiB of 64 KiB blocks, 5 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
kib=${2:-64}
runs=${3:-5}
cargo build --release --locked -q --example mask_throughput
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); GStreamer $(pkg-config --modversion gstreamer-1.0)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$runs"); do
  target/release/examples/mask_throughput "$mib" "$kib" >> "$out"
  if command -v openssl >/dev/null; then
    openssl speed -evp aes-256-gcm -bytes $((kib * 1024)) -seconds 2 2>/dev/null \
      | awk '/^AES-256-GCM|^aes-256-gcm/ {v=$NF; sub(/k$/, "", v); printf "openssl %s AES-256-GCM: %.2f GB/s\n", "'"$(openssl version | cut -d" " -f2)"'", v * 1000 / 1e9}' >> "$out"
  fi
done
python3 - "$out" "$mib" "$kib" "$runs" <<'PY'
import re, statistics, sys
path, mib, kib, runs = sys.argv[1:]
rates = {}
for line in open(path):
    # "<what>: ... X GB/s net ..." (the element, net of the pipeline), else the last "X GB/s".
    m = re.match(r"(.+?): (.*)", line.strip())
    if not m or "GB/s" not in m.group(2):
        continue
    net = re.search(r"([\d.]+) GB/s net", m.group(2))
    value = float(net.group(1)) if net else float(re.findall(r"([\d.]+) GB/s", m.group(2))[-1])
    rates.setdefault(m.group(1), []).append(value)
print(f"{mib} MiB in {kib} KiB buffers, {runs} runs each: median (range) in GB/s")
for what, v in rates.items():
    print(f"  {what}: {statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})")
raw = statistics.median(rates.get("raw ring AES-256-GCM seal in place", [0])) or 1
gcm = statistics.median(rates.get("h4mask mask aes-256-gcm", [0]))
ossl = [v for k, v in rates.items() if k.startswith("openssl")]
print(f"h4mask aes-256-gcm (net): {gcm / raw:.0%} of the raw cipher", end="")
if ossl:
    print(f", {gcm / statistics.median(ossl[0]):.2f}x openssl")
else:
    print()
PY
