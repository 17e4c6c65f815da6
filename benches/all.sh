#!/usr/bin/env bash
# Every side-by-side comparison in one go, written to docs/PERFORMANCE.md:
# mux vs matroskamux, demux vs matroskademux, seek latency vs matroskademux (1 minute and
# 10 hours), peak memory over a 10-hour stream (benches/elements.sh); h4fftfilter vs spectrum
# (benches/fft.sh); h4mask vs the raw cipher and openssl (benches/mask.sh); what signing costs
# (benches/sign.sh). Figures only: it never fails on a timing. Takes under 10 minutes on 2
# cores and 2 GB of disk in target/bench.
# Usage: benches/all.sh [--quick] [work-dir]
#   --quick: one comparison in under 2 minutes, printed only: h4mkmux and h4mkdemux against
#   Matroska on 20 s of 1080p H.264, CPU and wall time and the hashing floor, 5 rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --quick ]; then
  shift
  exec benches/elements.sh --quick "${1:-target/bench}"
fi
dir=${1:-target/bench}
mkdir -p "$dir"
# The revision measured, taken before anything here writes to the tree.
revision=$(git describe --always --dirty 2>/dev/null || echo unknown)
scripts/install-deps.sh
command -v python3 >/dev/null || apt-get install -y -q python3 >/dev/null

echo "elements (mux, demux, tiny blocks, seek, memory)..." >&2
benches/elements.sh "$dir" | tee "$dir/elements.txt"
echo "h4fftfilter vs spectrum..." >&2
benches/fft.sh "$dir" | tee "$dir/fft.txt"
echo "h4mask vs the cipher and openssl..." >&2
benches/mask.sh 1024 64 5 | tee "$dir/mask.txt"
echo "signing..." >&2
benches/sign.sh 256 9 | tee "$dir/sign.txt"

machine() {
  echo "- CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "- memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "- system: $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "- GStreamer $(pkg-config --modversion gstreamer-1.0), $(rustc --version)"
  echo "- gst-h4 $revision, measured $(date -u +%Y-%m-%d)"
}
section() { echo; echo '```text'; grep -v '^machine:' "$1"; echo '```'; }

out=docs/PERFORMANCE.md
{
  echo "# Performance"
  echo
  echo "Written by \`benches/all.sh\`, which runs every comparison below in one go on one machine;"
  echo "run it again to check these figures on yours. Times are wall-clock medians with their"
  echo "ranges, page cache warm. The side-by-side timings run interleaved (\`benches/paired.py\`:"
  echo "each round runs every pipeline once), and a ratio is the median of the rounds' own"
  echo "ratios, so the machine's speed drifting during the run does not favour either side."
  echo "Nothing here is a test, and no figure gates CI."
  echo
  echo "## Machine"
  echo
  machine
  echo
  echo "## h4mkmux and h4mkdemux against Matroska"
  echo
  echo "The same 1080p H.264 (60 s, about 260 MB): muxing after matroskademux ! h264parse, against"
  echo "matroskamux, CPU (user + system, all threads) and wall time, with the hashing floor (CRC32"
  echo "and SHA-256 leaves of the same blocks on one core, from memory: \`examples/hash_floor.rs\`);"
  echo "demuxing to fakesink, against matroskademux (every CRC checked). 900,000 blocks of 16"
  echo "bytes (10 hours at 25 a second) muxed and demuxed by both, CPU per block. Flushing"
  echo "KEY_UNIT seek latency (200 random seeks, demuxer ! queue ! fakesink) against matroskademux"
  echo "on that file and on one JPEG stream of 1 minute and of 10 hours written to both containers,"
  echo "and on synthetic 1-minute and 10-hour H4MK files (16-byte blocks, 25 a second); peak"
  echo "resident memory demuxing and remuxing those."
  echo "Goals: h4mkmux's CPU above the floor <= 1.1x the hashing floor, wall time <= 1.6x"
  echo "matroskamux on 2 cores; per tiny block at or below Matroska's cost; demux <= matroskademux;"
  echo "seek median <= matroskademux's and flat from 1 minute to 10 hours; memory flat."
  echo "Where h4mkmux's time goes beyond hashing: it is a GstAggregator, so every block passes from"
  echo "the upstream thread to the aggregator's own thread (condition variables, a wake-up per block"
  echo "when either side waits), where matroskamux in GStreamer 1.22 muxes in the upstream thread;"
  echo "hashing runs on a worker thread in batches of eight large blocks, small blocks are hashed"
  echo "inline. On 2 cores the threads overlap, so wall time stays near matroskamux's while CPU is"
  echo "higher; the tiny-block lines show the hand-off's cost per block."
  section "$dir/elements.txt"
  echo
  echo "## h4fftfilter against spectrum"
  echo
  echo "10 minutes of 48 kHz stereo, FFT length 2048, messages on for both (spectrum with one"
  echo "interval per 2048 samples), each net of the same pipeline without an analyser. Goal: 5x"
  echo "spectrum's real-time factor. h4fftfilter runs with its default FFT (rustfft's fastest code"
  echo "for the CPU), with \`portable=true\` (scalar code, the same bits on every CPU) and with"
  echo "messages off."
  section "$dir/fft.txt"
  echo
  echo "## h4mask against the cipher and openssl"
  echo
  echo "1 GiB in 64 KiB buffers through the element's seal and open paths (net of the same"
  echo "pipeline without h4mask), against the raw ciphers it uses in the same process, and"
  echo "\`openssl speed -evp aes-256-gcm\` on the same buffer size; five runs each."
  section "$dir/mask.txt"
  echo
  echo "## Signatures"
  echo
  echo "In process (\`benches/sign.sh\`): one checkpoint's signature (the chain over a HASH chunk"
  echo "and an Ed25519 signature), then 256 MiB of 64 KiB blocks at 25 a second (a checkpoint"
  echo "every 2 s) written and verified signed and unsigned, interleaved, CPU and wall time. Goals:"
  echo "under 1 ms per checkpoint; a signed file verified within 1 % of an unsigned one."
  section "$dir/sign.txt"
} > "$out"
echo "wrote $out" >&2
