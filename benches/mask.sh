#!/usr/bin/env bash
# h4mask against the raw ciphers it uses (in-process, same run) and against openssl's
# AES-256-GCM on the same buffer size. Prints figures; never fails on a timing.
# Usage: benches/mask.sh [MiB] [block KiB]   (default 2048 MiB of 64 KiB blocks)
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-2048}
kib=${2:-64}
cargo build --release --locked -q --example mask_throughput
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); GStreamer $(pkg-config --modversion gstreamer-1.0)"
target/release/examples/mask_throughput "$mib" "$kib"
if command -v openssl >/dev/null; then
  openssl speed -evp aes-256-gcm -bytes $((kib * 1024)) -seconds 3 2>/dev/null \
    | awk -v kib="$kib" '/^AES-256-GCM|^aes-256-gcm/ {v=$NF; sub(/k$/, "", v); printf "openssl %s AES-256-GCM, %d KiB buffers: %.2f GB/s\n", "'"$(openssl version | cut -d" " -f2)"'", kib, v * 1000 / 1e9}'
fi
