#!/usr/bin/env bash
# h4mkmux / h4mkdemux side by side with matroskamux / matroskademux on the same 1080p H.264
# input (60 s, about 260 MB, made once), seek latency against matroskademux on that input and
# on the same JPEG stream of 1 minute and 10 hours in both containers, seek latency on synthetic
# 1-minute and 10-hour H4MK files, and peak memory over a 10-hour stream. Prints figures; never fails on a timing.
# Usage: benches/elements.sh [work-dir]   (default target/bench; needs about 1.5 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/bench}
mkdir -p "$dir"
command -v hyperfine >/dev/null || { echo "installing hyperfine" >&2; apt-get install -y -q hyperfine >/dev/null; }
cargo build --release --locked -q --lib --bins --examples
export GST_PLUGIN_PATH=$PWD/target/release
h4mk=target/release/h4mk
lat=target/release/examples/seek_latency
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); GStreamer $(pkg-config --modversion gstreamer-1.0)"

src=$dir/src1080.mkv
if [ ! -f "$src" ]; then
  echo "making the 1080p input (once)..." >&2
  gst-launch-1.0 -q videotestsrc num-buffers=1800 pattern=snow ! video/x-raw,width=1920,height=1080,framerate=30/1 \
    ! x264enc speed-preset=ultrafast bitrate=35000 key-int-max=60 ! h264parse ! matroskamux ! filesink location="$src"
fi
gst-launch-1.0 -q filesrc location="$src" ! matroskademux ! h264parse ! h4mkmux ! filesink location="$dir/src1080.h4mk"
cat "$src" "$dir/src1080.h4mk" > /dev/null
echo "input: $(stat -c %s "$src") bytes, $(gst-discoverer-1.0 "$src" | grep -m1 Duration | xargs)"

run() { hyperfine -N --warmup 2 --runs 10 --export-json "$dir/$1.json" "${@:2}" > /dev/null; }
run mux \
  "gst-launch-1.0 -q filesrc location=$src ! matroskademux ! h264parse ! fakesink" \
  "gst-launch-1.0 -q filesrc location=$src ! matroskademux ! h264parse ! matroskamux ! fakesink" \
  "gst-launch-1.0 -q filesrc location=$src ! matroskademux ! h264parse ! h4mkmux ! fakesink"
run demux \
  "gst-launch-1.0 -q filesrc location=$src ! matroskademux ! fakesink" \
  "gst-launch-1.0 -q filesrc location=$dir/src1080.h4mk ! h4mkdemux ! fakesink"
hash_s=$( { /usr/bin/time -f %e "$h4mk" verify "$dir/src1080.h4mk" > /dev/null; } 2>&1 )

python3 - "$dir" "$hash_s" <<'PY'
import json, sys, statistics
d, verify_s = sys.argv[1], float(sys.argv[2])
def med(name):
    return [statistics.median(r["times"]) * 1e3 for r in json.load(open(f"{d}/{name}.json"))["results"]]
def ranges(name):
    return [f"{min(r['times']) * 1e3:.0f}-{max(r['times']) * 1e3:.0f} ms"
            for r in json.load(open(f"{d}/{name}.json"))["results"]]
floor, mkv_mux, h4_mux = med("mux")
mkv_demux, h4_demux = med("demux")
print("medians of 10 runs; ranges: mux " + ", ".join(ranges("mux")) + "; demux " + ", ".join(ranges("demux")))
print(f"demux floor (matroskademux ! h264parse ! fakesink): {floor:.1f} ms")
print(f"matroskamux: {mkv_mux:.1f} ms; h4mkmux: {h4_mux:.1f} ms = {h4_mux / mkv_mux:.2f}x matroskamux")
print(f"  h4mk verify of the same file (CRC + SHA-256 on one core): {verify_s * 1e3:.0f} ms;"
      f" h4mkmux / (floor + that) = {h4_mux / (floor + verify_s * 1e3):.2f}")
print(f"matroskademux: {mkv_demux:.1f} ms; h4mkdemux (CRC checked): {h4_demux:.1f} ms = {h4_demux / mkv_demux:.2f}x")
PY

echo "seek latency, flushing KEY_UNIT, 200 random seeks, demuxer ! queue ! fakesink:"
"$lat" "$src" matroskademux 200 queue
"$lat" "$dir/src1080.h4mk" h4mkdemux 200 queue
for spec in "1m 1500" "10h 900000"; do
  set -- $spec
  head -c $(($2 * 16)) /dev/urandom > "$dir/$1.bin"
  "$h4mk" export "$dir/$1.bin" -o "$dir/$1.h4mk" --block-size 16 --fps 25 --gop 25 2>/dev/null
  printf '%s synthetic (%s blocks at 25/s): ' "$1" "$2"; "$lat" "$dir/$1.h4mk" h4mkdemux 200 queue
done
echo "seek latency on the same JPEG stream (160x120, a keyframe a second) in both containers:"
for spec in "1m 60" "10h 36000"; do
  set -- $spec
  if [ ! -f "$dir/jpeg-$1.mkv" ] || [ ! -f "$dir/jpeg-$1.h4mk" ]; then
    gst-launch-1.0 -q videotestsrc num-buffers="$2" pattern=ball ! video/x-raw,width=160,height=120,framerate=1/1 \
      ! jpegenc ! tee name=t t. ! queue ! matroskamux ! filesink location="$dir/jpeg-$1.mkv" \
      t. ! queue ! h4mkmux ! filesink location="$dir/jpeg-$1.h4mk"
  fi
  printf '%s JPEG, ' "$1"; "$lat" "$dir/jpeg-$1.mkv" matroskademux 200 queue
  printf '%s JPEG, ' "$1"; "$lat" "$dir/jpeg-$1.h4mk" h4mkdemux 200 queue
done
for f in 1m 10h; do
  # /usr/bin/time reports on stderr; its line belongs with the figures on stdout.
  { /usr/bin/time -f "$f: demux peak RSS %M KB" gst-launch-1.0 -q filesrc location="$dir/$f.h4mk" ! h4mkdemux ! fakesink; } 2>&1
  { /usr/bin/time -f "$f: demux + mux peak RSS %M KB, %e s" gst-launch-1.0 -q filesrc location="$dir/$f.h4mk" ! h4mkdemux ! h4mkmux ! filesink location="$dir/re-$f.h4mk"; } 2>&1
  if cmp -s "$dir/$f.h4mk" "$dir/re-$f.h4mk"; then
    echo "$f: remuxed file is byte-identical"
  else
    echo "$f: remuxed file DIFFERS"
  fi
done
