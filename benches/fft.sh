#!/usr/bin/env bash
# h4fftfilter side by side with spectrum at the same FFT length (2048) on the same audio
# (10 minutes, 48 kHz stereo S16LE, pink noise plus a tone, made once), messages on for both.
# Each analyser's time is taken net of the same pipeline without it; the real-time factor is
# media seconds per second of that net time. Prints figures; never fails on a timing.
# Usage: benches/fft.sh [work-dir]   (default target/bench; needs about 120 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/bench}
mkdir -p "$dir"
command -v hyperfine >/dev/null || { echo "installing hyperfine" >&2; apt-get install -y -q hyperfine >/dev/null; }
cargo build --release --locked -q --lib
export GST_PLUGIN_PATH=$PWD/target/release
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); GStreamer $(pkg-config --modversion gstreamer-1.0)"

wav=$dir/audio10min.wav
if [ ! -f "$wav" ]; then
  echo "making the 10-minute input (once)..." >&2
  gst-launch-1.0 -q audiomixer name=mix ! audio/x-raw,rate=48000,channels=2,format=S16LE ! wavenc ! filesink location="$wav" \
    audiotestsrc wave=pink-noise volume=0.3 num-buffers=6000 samplesperbuffer=4800 ! mix. \
    audiotestsrc freq=440 volume=0.5 num-buffers=6000 samplesperbuffer=4800 ! mix.
fi
cat "$wav" > /dev/null
seconds=600
# 2048 frames at 48 kHz: one FFT per interval for spectrum, as h4fftfilter's one per frame.
interval=42666667
src="filesrc location=$wav ! wavparse"
hyperfine -N --warmup 1 --runs 7 --export-json "$dir/fft.json" \
  "gst-launch-1.0 -q $src ! fakesink" \
  "gst-launch-1.0 -q $src ! spectrum bands=1025 interval=$interval post-messages=true ! fakesink" \
  "gst-launch-1.0 -q $src ! h4fftfilter frame-size=2048 post-messages=true ! fakesink" > /dev/null

python3 - "$dir" "$seconds" <<'PY'
import json, sys, statistics
d, seconds = sys.argv[1], float(sys.argv[2])
r = json.load(open(f"{d}/fft.json"))["results"]
base, spec, h4 = (statistics.median(x["times"]) for x in r)
rng = lambda x: f"{min(x['times']):.3f}-{max(x['times']):.3f} s"
print(f"pipeline without analyser: {base:.3f} s ({rng(r[0])})")
for name, t, x in (("spectrum", spec, r[1]), ("h4fftfilter", h4, r[2])):
    net = t - base
    print(f"{name}: {t:.3f} s ({rng(x)}), net {net:.3f} s, {seconds / net:.0f}x real time")
print(f"h4fftfilter / spectrum real-time factor: {(spec - base) / (h4 - base):.1f}x")
PY
