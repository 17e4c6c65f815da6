#!/usr/bin/env bash
# The demo: installs what is missing and builds; records test video (H.264), a soundtrack
# (speech from espeak-ng, a sweep, a chord) as Opus and its FFT tokens (h4fftfilter) through
# h4mkmux, verifies and inspects the file, plays it back through playbin with keyframe seeks,
# draws its token track and its blocks as pictures, serves it over HTTP and plays it from
# there with a seek; then shows the CLI: a file cut short is verified, repaired and verified;
# last, the video is masked with h4mask, verified and sought without the key, and played back
# with it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked --lib --bins --examples

out=target/demo
rm -rf "$out" && mkdir -p "$out"
h4mk=target/release/h4mk
export GST_PLUGIN_PATH=$PWD/target/release
step() { printf '\n== %s\n' "$*"; }

step "the plugin: its five elements and the typefinder"
gst-inspect-1.0 h4 | sed -n '/^  h4/p;/typefind/p'

step "record 10 s of test video (H.264, 640x360, keyframe every second) and 10 s of sound (speech from espeak-ng, a sweep, a chord) as Opus, with its FFT peak tokens from h4fftfilter, through h4mkmux"
espeak-ng -v en-us -s 150 -w "$out/speech.wav" \
  "Harmony zero four keeps every block: its time, its keyframe flag, and its hash."
python3 scripts/demo_audio.py "$out/speech.wav" "$out/sound.wav"
gst-launch-1.0 -q \
  videotestsrc num-buffers=300 pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 \
  ! x264enc key-int-max=30 bframes=2 speed-preset=veryfast ! h264parse ! queue ! mux.video_0 \
  filesrc location="$out/sound.wav" ! wavparse ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 \
  ! h4fftfilter name=fft post-messages=false top-k=6 ! queue ! opusenc ! queue ! mux.audio_0 \
  fft.tokens ! queue ! mux.data_0 \
  h4mkmux name=mux ! filesink location="$out/demo.h4mk"
$h4mk inspect "$out/demo.h4mk"

step "verify every CRC, leaf hash and the Merkle root"
$h4mk verify "$out/demo.h4mk"

step "what a player sees (gst-discoverer-1.0 finds the demuxer through the typefinder)"
gst-discoverer-1.0 "$out/demo.h4mk" | grep -E 'Duration|Seekable|container|video #|audio #|subtitles #|Missing'

step "play it back through playbin, seeking by keyframe first"
target/release/examples/play_seek "$out/demo.h4mk" 3.5 7.25 1.0

step "the token track as a spectrogram, and the file's blocks as a timeline (PNG)"
target/release/examples/spectrogram "$out/demo.h4mk" "$out/spectrogram.png"
$h4mk inspect "$out/demo.h4mk" --plot "$out/timeline.png" > /dev/null

step "serve it over HTTP (a stock nginx on 127.0.0.1) and play it from there with a seek near the end"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
web=$PWD/$out/web
mkdir -p "$web/www" && cp "$out/demo.h4mk" "$web/www/"
cat > "$web/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1; pid $web/nginx.pid; error_log $web/error.log;
events { worker_connections 64; }
http {
  log_format h4 '\$status "\$http_range" \$bytes_sent'; access_log $web/access.log h4;
  client_body_temp_path $web/tmp; proxy_temp_path $web/tmp; fastcgi_temp_path $web/tmp;
  uwsgi_temp_path $web/tmp; scgi_temp_path $web/tmp; default_type application/octet-stream;
  server { listen 127.0.0.1:$port sndbuf=64k; root $web/www; }
}
EOF
nginx -p "$web" -e "$web/error.log" -c "$web/nginx.conf" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
target/release/examples/play_seek "http://127.0.0.1:$port/demo.h4mk" 9.0
kill -QUIT $nginx_pid; wait $nginx_pid || true
echo "what nginx sent, request by request (the server's own access log):"
python3 - "$web/access.log" "$($h4mk inspect "$out/demo.h4mk" --json)" \
  "$($h4mk seek "$out/demo.h4mk" 9.0 --track 0 --json)" <<'EOF'
import json, sys
log, inspect, seek = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
size, index, key = inspect["bytes"], inspect["seek"]["offset"], seek["offset"]
for line in open(log):
    status, wanted, sent = line.split()
    start = int(wanted.strip('"').removeprefix("bytes=").rstrip("-") or 0)
    if status == "200":
        why = "no Range: souphttpsrc's first request, for the typefinder and the header"
    elif start == size - 36:
        why = "the last 36 bytes: TAIL, which says where the index is"
    elif start == index:
        why = "SEEK's 12-byte header, judged before anything more is read"
    elif index < start < size:
        why = "the rest of the index: SEEK (every keyframe), VERI (the Merkle root), TAIL"
    elif start == key:
        why = "the seek: from the block of the keyframe at 9 s to the end"
    else:
        why = "playback from the first block"
    print(f"  {status} from byte {start:>7}: {int(sent):>7} bytes sent  ({why})")
print(f"  (the file is {size} bytes; nginx counts what it wrote to the socket before the player"
      " moved on, headers included)")
EOF

step "the CLI: keyframe lookup by binary search of the index"
$h4mk seek "$out/demo.h4mk" 3.5 --track 0

step "a recording cut short at 60 %: verify says how far it holds, repair keeps every complete block"
size=$(stat -c %s "$out/demo.h4mk")
head -c $((size * 6 / 10)) "$out/demo.h4mk" > "$out/cut.h4mk"
$h4mk verify "$out/cut.h4mk" || echo "(verify exit status $?: expected for a cut file)"
$h4mk repair "$out/cut.h4mk" -o "$out/repaired.h4mk"
$h4mk verify "$out/repaired.h4mk"
target/release/examples/play_seek "$out/repaired.h4mk" 2.0

step "mask the video with h4mask (AES-256-GCM): the file verifies and seeks without the key, plays with it"
head -c 32 /dev/urandom > "$out/key.bin"
gst-launch-1.0 -q filesrc location="$out/demo.h4mk" ! h4mkdemux name=d d.video_0 ! queue ! h4mask key-file="$out/key.bin" \
  ! h4mkmux name=mux ! filesink location="$out/masked.h4mk" d.audio_0 ! queue ! mux.audio_0
$h4mk verify "$out/masked.h4mk"
$h4mk seek "$out/masked.h4mk" 3.5 --track 0
gst-launch-1.0 -q filesrc location="$out/masked.h4mk" ! h4mkdemux name=d d.video_0 ! queue ! h4mask key-file="$out/key.bin" \
  ! decodebin ! fakesink d.audio_0 ! queue ! fakesink && echo "masked video decoded with the key"
head -c 32 /dev/urandom > "$out/other.bin"
gst-launch-1.0 -q filesrc location="$out/masked.h4mk" ! h4mkdemux name=d d.video_0 ! queue ! h4mask key-file="$out/other.bin" \
  ! decodebin ! fakesink 2>&1 | grep -m1 ERROR || true

step "done: files are in $out"
