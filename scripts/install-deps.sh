#!/usr/bin/env bash
# Installs what gst-h4 needs on Debian/Ubuntu and is missing: GStreamer 1.22+ development files,
# the tools, the plugin sets the tests and the demo use, ges-launch-1.0 (the editing tests),
# nginx (the HTTP tests start their own, on 127.0.0.1), openssl (the signing tests check key
# files against it), zsh and fish (the completion tests load h4mk's completions in each), ffmpeg
# (ffprobe judges what h4mk extract writes), python3-jsonschema (inspect's JSON against its schema),
# espeak-ng (the demo's speech), curl (saves a live HTTP stream as a viewer would).
# Checks the Rust toolchain.
set -euo pipefail

packages=(
  pkg-config gcc
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base-apps
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  ges1.0-tools
  nginx time openssl zsh fish ffmpeg python3-jsonschema espeak-ng curl
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "gst-h4: installing ${missing[*]}" >&2
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "gst-h4: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "gst-h4: no Rust toolchain found; install one with rustup (https://rustup.rs), Rust 1.92 or newer" >&2
  exit 1
fi
need=1.92
have=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
  echo "gst-h4: rustc $have is older than $need; update it (rustup update)" >&2
  exit 1
fi
gst=$(pkg-config --modversion gstreamer-1.0)
echo "gst-h4: GStreamer $gst, rustc $have" >&2
