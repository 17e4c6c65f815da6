#!/usr/bin/env bash
# Runs every test: installs what is missing, builds in release mode (hashing-heavy tests need
# it), then the unit, integration and documentation tests. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# GLib criticals and warnings fail the GStreamer tests instead of scrolling by.
export G_DEBUG=fatal_warnings
cargo build --release --all-targets --locked
cargo test --release --all-targets --locked
cargo test --release --doc --locked
