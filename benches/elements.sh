#!/usr/bin/env bash
# h4mkmux / h4mkdemux side by side with matroskamux / matroskademux on the same 1080p H.264
# input (60 s, about 260 MB, made once), CPU and wall time, with the hashing floor of the same
# blocks; the cost per block of a 10-hour stream of 900,000 tiny blocks muxed and demuxed by
# both; seek latency against matroskademux on the 1080p input and on the same JPEG stream of
# 1 minute and 10 hours in both containers, and on synthetic 1-minute and 10-hour H4MK files.
# Prints figures; never fails on a timing.
# Usage: benches/elements.sh [--quick] [work-dir]   (default target/bench; needs about 1.5 GB)
#   --quick: only the 1080p mux and demux comparison, 5 rounds on its first 20 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
if [ "${1:-}" = --quick ]; then quick=true; shift; fi
dir=${1:-target/bench}
mkdir -p "$dir"
cargo build --release --locked -q --lib --bins --examples
export GST_PLUGIN_PATH=$PWD/target/release
h4mk=target/release/h4mk
lat=target/release/examples/seek_latency
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); GStreamer $(pkg-config --modversion gstreamer-1.0)"

frames=1800 rounds=15
if $quick; then frames=600 rounds=5; fi
src=$dir/src1080-$frames.mkv
if [ ! -f "$src" ]; then
  echo "making the 1080p input (once)..." >&2
  gst-launch-1.0 -q videotestsrc num-buffers=$frames pattern=snow ! video/x-raw,width=1920,height=1080,framerate=30/1 \
    ! x264enc speed-preset=ultrafast bitrate=35000 key-int-max=60 ! h264parse ! matroskamux ! filesink location="$src"
fi
gst-launch-1.0 -q filesrc location="$src" ! matroskademux ! h264parse ! h4mkmux ! filesink location="$dir/src1080.h4mk"
# recache FILE...: the files' pages dropped from the page cache, then read back in, so that
# files compared are cached alike (one just written by filesink above, the other read back by
# readahead) whatever happened to each before.
recache() {
  sync
  python3 -c 'import os, sys
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$@"
  cat "$@" > /dev/null
}
recache "$src" "$dir/src1080.h4mk"
echo "input: $(stat -c %s "$src") bytes, $(gst-discoverer-1.0 "$src" | grep -m1 Duration | xargs)"

# Interleaved rounds (benches/paired.py): each round runs every pipeline once, so ratios are
# taken within a round and drift of the machine's speed during the run cancels out.
benches/paired.py $rounds 2 "$dir/mux.json" \
  "gst-launch-1.0 -q filesrc location=$src ! matroskademux ! h264parse ! fakesink" \
  "gst-launch-1.0 -q filesrc location=$src ! matroskademux ! h264parse ! matroskamux ! filesink location=$dir/out.mkv" \
  "gst-launch-1.0 -q filesrc location=$src ! matroskademux ! h264parse ! h4mkmux ! filesink location=$dir/out.h4mk"
benches/paired.py $rounds 2 "$dir/demux.json" \
  "gst-launch-1.0 -q filesrc location=$src ! matroskademux ! fakesink" \
  "gst-launch-1.0 -q filesrc location=$dir/src1080.h4mk ! h4mkdemux ! fakesink"
floor_line=$(target/release/examples/hash_floor "$dir/src1080.h4mk" 5)
floor_ms=$(echo "$floor_line" | sed -E 's/.*: ([0-9]+) ms CPU.*/\1/')

python3 - "$dir" "$floor_ms" "$rounds" "$(nproc)" "$floor_line" <<'PY'
import json, sys, statistics
d, hash_ms, rounds, cores, floor_line = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
load = lambda name: json.load(open(f"{d}/{name}.json"))["results"]
mux, demux = load("mux"), load("demux")
ms = lambda r, key="times": statistics.median(r[key]) * 1e3
span = lambda r: f"{min(r['times']) * 1e3:.0f}-{max(r['times']) * 1e3:.0f} ms"
def ratio(a, b):
    per_round = [y / x for x, y in zip(a["times"], b["times"])]
    return f"{statistics.median(per_round):.2f}x (rounds {min(per_round):.2f}-{max(per_round):.2f})"
floor, mkv_mux, h4_mux = mux
mkv_demux, h4_demux = demux
print(f"medians of {rounds} interleaved rounds, wall (range) and CPU (user + system, all threads)")
print(f"demux floor (matroskademux ! h264parse ! fakesink): {ms(floor):.1f} ms ({span(floor)}), CPU {ms(floor, 'cpu'):.0f} ms")
print(f"matroskamux: {ms(mkv_mux):.1f} ms ({span(mkv_mux)}), CPU {ms(mkv_mux, 'cpu'):.0f} ms")
print(f"h4mkmux: {ms(h4_mux):.1f} ms ({span(h4_mux)}), CPU {ms(h4_mux, 'cpu'):.0f} ms; {ratio(mkv_mux, h4_mux)} matroskamux")
per_round = lambda a, b: [(y - x) * 1e3 for x, y in zip(a["cpu"], b["cpu"])]
above = per_round(floor, h4_mux)
added = per_round(mkv_mux, h4_mux)
print(f"  {floor_line}")
print(f"  CPU above the demux floor, writing the file included: h4mkmux {statistics.median(above):.0f} ms"
      f" (rounds {min(above):.0f}-{max(above):.0f} ms), matroskamux {statistics.median(per_round(floor, mkv_mux)):.0f} ms")
print(f"  what h4mkmux costs beyond matroskamux writing the same stream: {statistics.median(added):.0f} ms CPU"
      f" (rounds {min(added):.0f}-{max(added):.0f} ms), {statistics.median(added) / hash_ms:.2f}x the hashing floor")
print(f"  h4mkmux's CPU spread evenly over the {cores} cores: {ms(h4_mux, 'cpu') / cores:.0f} ms of wall time at best")
print(f"matroskademux: {ms(mkv_demux):.1f} ms ({span(mkv_demux)}), CPU {ms(mkv_demux, 'cpu'):.0f} ms")
print(f"h4mkdemux (CRC checked): {ms(h4_demux):.1f} ms ({span(h4_demux)}), CPU {ms(h4_demux, 'cpu'):.0f} ms; {ratio(mkv_demux, h4_demux)} matroskademux")
PY
if $quick; then exit 0; fi

# 900,000 blocks of 16 bytes (10 hours at 25 a second, a keyframe a second) as text, which both
# containers take: muxed from h4mkdemux's output by both muxers into a file, and each
# container's file demuxed by its own demuxer. Per block: CPU above the floor (the demuxer
# feeding the muxer, to fakesink; for the demuxers, reading the file), divided by the block
# count; peak memory of every pipeline.
tiny=$dir/tiny-10h
if [ ! -f "$tiny.h4mk" ] || [ ! -f "$tiny.mkv" ]; then
  python3 -c 'import sys
line = b"0123456789abcde\n"
sys.stdout.buffer.write(line * 900000)' > "$tiny.txt"
  "$h4mk" export -q "$tiny.txt" -o "$tiny.h4mk" --block-size 16 --fps 25 --gop 25 \
    --caps "text/x-raw, format=(string)utf8"
  gst-launch-1.0 -q filesrc location="$tiny.h4mk" ! h4mkdemux ! m.subtitle_0 matroskamux name=m \
    ! filesink location="$tiny.mkv"
fi
benches/paired.py 3 1 "$dir/tiny.json" \
  "gst-launch-1.0 -q filesrc location=$tiny.h4mk ! h4mkdemux ! fakesink" \
  "gst-launch-1.0 -q filesrc location=$tiny.h4mk ! h4mkdemux ! m.subtitle_0 matroskamux name=m ! filesink location=$dir/out.mkv" \
  "gst-launch-1.0 -q filesrc location=$tiny.h4mk ! h4mkdemux ! h4mkmux ! filesink location=$dir/out.h4mk" \
  "gst-launch-1.0 -q filesrc location=$tiny.mkv ! matroskademux ! fakesink" \
  "gst-launch-1.0 -q filesrc location=$tiny.mkv ! fakesink" \
  "gst-launch-1.0 -q filesrc location=$tiny.h4mk ! fakesink"
python3 - "$dir" <<'PY'
import json, sys, statistics
r = json.load(open(f"{sys.argv[1]}/tiny.json"))["results"]
floor, mkv_mux, h4_mux, mkv_demux, mkv_read, h4_read = r
h4_demux = floor
n = 900_000
med = lambda x, k="cpu": statistics.median(x[k])
def per_block(a, b):
    per = [(y - x) / n * 1e6 for x, y in zip(a["cpu"], b["cpu"])]
    return statistics.median(per), min(per), max(per)
print(f"900,000 blocks of 16 bytes (10 hours at 25/s), medians of 3 interleaved rounds, CPU per block"
      f" (above reading the input), wall, peak RSS:")
for name, run, base in [("matroskamux", mkv_mux, floor), ("h4mkmux", h4_mux, floor),
                        ("matroskademux", mkv_demux, mkv_read), ("h4mkdemux", h4_demux, h4_read)]:
    m, lo, hi = per_block(base, run)
    print(f"  {name}: {m:.2f} us/block ({lo:.2f}-{hi:.2f}), wall {med(run, 'times'):.2f} s,"
          f" CPU {med(run):.2f} s, peak RSS {max(run['rss']) // 1024} MiB")
print(f"  (mux figures are above h4mkdemux ! fakesink: {med(floor):.2f} s CPU, peak RSS {max(floor['rss']) // 1024} MiB)")
PY

echo "seek latency, flushing KEY_UNIT, 200 random seeks, demuxer ! queue ! fakesink:"
# Each file is read into the cache just before its seeks: this machine's page cache drops
# files left idle for a while, and a seek that waits on the disk measures the disk.
latency() { recache "$1"; "$lat" "$@" 200 queue; }
# seek_rounds LABEL NAME_A FILE_A DEMUXER_A NAME_B FILE_B DEMUXER_B: five interleaved rounds
# of A then B, as the timings above; prints the median of each one's round medians and of the
# rounds' B / A ratios.
seek_rounds() {
  for round in 1 2 3 4 5; do
    printf '%s: ' "$2"; latency "$3" "$4"
    printf '%s: ' "$5"; latency "$6" "$7"
  done > "$dir/seek-rounds.txt"
  python3 - "$dir/seek-rounds.txt" "$1" "$2" "$5" <<'PY'
import re, statistics, sys
path, label, a, b = sys.argv[1:]
lines = open(path).read().splitlines()
med = lambda name: [float(re.search(r"median ([0-9.]+) ms", l).group(1)) for l in lines if l.startswith(name + ": ")]
ta, tb = med(a), med(b)
ratios = [y / x for x, y in zip(ta, tb)]
print(f"{label}, 5 rounds: {a} median {statistics.median(ta):.3f} ms, {b} median {statistics.median(tb):.3f} ms;"
      f" {b} / {a} {statistics.median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f})")
PY
}
seek_rounds "1080p" matroskademux "$src" matroskademux h4mkdemux "$dir/src1080.h4mk" h4mkdemux
for spec in "1m 1500" "10h 900000"; do
  set -- $spec
  head -c $(($2 * 16)) /dev/urandom > "$dir/$1.bin"
  "$h4mk" export "$dir/$1.bin" -o "$dir/$1.h4mk" --block-size 16 --fps 25 --gop 25 2>/dev/null
done
seek_rounds "h4mkdemux on synthetic 16-byte blocks at 25/s" \
  "1 minute" "$dir/1m.h4mk" h4mkdemux "10 hours" "$dir/10h.h4mk" h4mkdemux
echo "seek latency on the same JPEG stream (160x120, a keyframe a second) in both containers:"
for spec in "1m 60" "10h 36000"; do
  set -- $spec
  if [ ! -f "$dir/jpeg-$1.mkv" ] || [ ! -f "$dir/jpeg-$1.h4mk" ]; then
    gst-launch-1.0 -q videotestsrc num-buffers="$2" pattern=ball ! video/x-raw,width=160,height=120,framerate=1/1 \
      ! jpegenc ! tee name=t t. ! queue ! matroskamux ! filesink location="$dir/jpeg-$1.mkv" \
      t. ! queue ! h4mkmux ! filesink location="$dir/jpeg-$1.h4mk"
  fi
  printf '%s JPEG, ' "$1"; latency "$dir/jpeg-$1.mkv" matroskademux
  printf '%s JPEG, ' "$1"; latency "$dir/jpeg-$1.h4mk" h4mkdemux
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
