#!/usr/bin/env bash
# Installs the h4 plugin where GStreamer finds it without GST_PLUGIN_PATH, and the h4mk tool.
#
#   scripts/install.sh            system-wide (as root): the plugin into GStreamer's plugin
#                                 directory (pkg-config gstreamer-1.0 pluginsdir), h4mk into
#                                 $PREFIX/bin (PREFIX defaults to /usr/local)
#   scripts/install.sh --user     for this user: the plugin into
#                                 ${XDG_DATA_HOME:-~/.local/share}/gstreamer-1.0/plugins, which
#                                 GStreamer scans for every program; h4mk into ~/.local/bin
#   --uninstall                   removes what the same mode installed
#   --no-build                    installs what target/release already holds
set -euo pipefail
cd "$(dirname "$0")/.."

mode=system build=1 action=install
for arg in "$@"; do
  case "$arg" in
    --user) mode=user ;;
    --no-build) build=0 ;;
    --uninstall) action=uninstall ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

if [ "$mode" = user ]; then
  plugins="${XDG_DATA_HOME:-$HOME/.local/share}/gstreamer-1.0/plugins"
  bin="$HOME/.local/bin"
else
  plugins=$(pkg-config --variable=pluginsdir gstreamer-1.0)
  bin="${PREFIX:-/usr/local}/bin"
fi

if [ "$action" = uninstall ]; then
  rm -fv "$plugins/libgsth4.so" "$bin/h4mk"
  exit 0
fi

if [ "$build" = 1 ]; then
  cargo build --release --locked --lib --bins
fi
for f in target/release/libgsth4.so target/release/h4mk; do
  [ -f "$f" ] || { echo "install.sh: $f is missing; build first (cargo build --release)" >&2; exit 1; }
done
install -d "$plugins" "$bin"
install -m 0644 target/release/libgsth4.so "$plugins/libgsth4.so"
install -m 0755 target/release/h4mk "$bin/h4mk"
echo "installed the h4 plugin into $plugins and h4mk into $bin"
echo "check: gst-inspect-1.0 h4mkmux"
