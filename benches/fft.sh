#!/usr/bin/env bash
# h4fftfilter side by side with spectrum at the same FFT length (2048) on the same audio
# (10 minutes, 48 kHz stereo S16LE, pink noise plus a tone, made once), messages on for both.
# Each analyser's time is taken net of the same pipeline without it; the real-time factor is
# media seconds per second of that net time; h4fftfilter runs with its default (native) FFT,
# with portable=true, and with messages off. Prints figures; never fails on a timing.
# Usage: benches/fft.sh [work-dir]   (default target/bench; needs about 120 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/bench}
mkdir -p "$dir"
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
# Interleaved rounds (benches/paired.py): every pipeline once a round, so each round gives
# its own net times and ratio, and drift of the machine's speed cancels out.
rounds=11
benches/paired.py $rounds 1 "$dir/fft.json" \
  "gst-launch-1.0 -q $src ! fakesink" \
  "gst-launch-1.0 -q $src ! spectrum bands=1025 interval=$interval post-messages=true ! fakesink" \
  "gst-launch-1.0 -q $src ! h4fftfilter frame-size=2048 post-messages=true ! fakesink" \
  "gst-launch-1.0 -q $src ! h4fftfilter frame-size=2048 post-messages=false ! fakesink" \
  "gst-launch-1.0 -q $src ! h4fftfilter frame-size=2048 post-messages=true portable=true ! fakesink"

python3 - "$dir" "$seconds" "$rounds" <<'PY'
import json, sys, statistics
d, seconds, rounds = sys.argv[1], float(sys.argv[2]), sys.argv[3]
base, spec, h4, quiet, portable = json.load(open(f"{d}/fft.json"))["results"]
med = statistics.median
net = lambda x: [t - b for t, b in zip(x["times"], base["times"])]
rng = lambda x: f"{min(x['times']):.3f}-{max(x['times']):.3f} s"
print(f"medians of {rounds} interleaved rounds (range)")
print(f"pipeline without analyser: {med(base['times']):.3f} s ({rng(base)})")
for name, x in (("spectrum", spec), ("h4fftfilter", h4), ("h4fftfilter, messages off", quiet),
                ("h4fftfilter portable=true", portable)):
    n = med(net(x))
    print(f"{name}: {med(x['times']):.3f} s ({rng(x)}), net {n:.3f} s, {seconds / n:.0f}x real time")
ratios = [s / h for s, h in zip(net(spec), net(h4))]
print(f"h4fftfilter / spectrum real-time factor: {med(ratios):.1f}x (rounds {min(ratios):.1f}-{max(ratios):.1f})")
ratios = [s / h for s, h in zip(net(spec), net(portable))]
print(f"h4fftfilter portable=true / spectrum: {med(ratios):.1f}x (rounds {min(ratios):.1f}-{max(ratios):.1f})")
frames = int(seconds * 48000 / 2048)
print(f"h4fftfilter per frame ({frames} frames): analysis {med(net(quiet)) / frames * 1e6:.1f} us,"
      f" its message {(med(net(h4)) - med(net(quiet))) / frames * 1e6:.1f} us")
PY
