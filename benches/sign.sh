#!/usr/bin/env bash
# What Ed25519 signing costs: one checkpoint signature, the signing writer against the plain one,
# and verifying a signed file against an unsigned one (in process, interleaved rounds, CPU and
# wall time). Prints figures; never fails on a timing.
# Usage: benches/sign.sh [MiB] [rounds]   (default 256 MiB, 7 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
cargo run --release --locked -q --example sign_cost -- "${1:-256}" "${2:-7}"
