#!/usr/bin/env bash
# Installs the h4 plugin where GStreamer finds it without GST_PLUGIN_PATH, and the h4mk tool
# with its man pages and bash, zsh and fish completions.
#
#   scripts/install.sh            system-wide (as root): the plugin into GStreamer's plugin
#                                 directory (pkg-config gstreamer-1.0 pluginsdir), h4mk into
#                                 $PREFIX/bin, man pages into $PREFIX/share/man/man1 and
#                                 completions under $PREFIX/share (PREFIX defaults to /usr/local)
#   scripts/install.sh --user     for this user: the plugin into
#                                 ${XDG_DATA_HOME:-~/.local/share}/gstreamer-1.0/plugins, which
#                                 GStreamer scans for every program; h4mk into ~/.local/bin; man
#                                 pages and completions under ${XDG_DATA_HOME:-~/.local/share}
#                                 (fish: ${XDG_CONFIG_HOME:-~/.config}/fish/completions)
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
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

if [ "$mode" = user ]; then
  share="${XDG_DATA_HOME:-$HOME/.local/share}"
  plugins="$share/gstreamer-1.0/plugins"
  bin="$HOME/.local/bin"
  fish="${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions"
else
  share="${PREFIX:-/usr/local}/share"
  plugins=$(pkg-config --variable=pluginsdir gstreamer-1.0)
  bin="${PREFIX:-/usr/local}/bin"
  fish="$share/fish/vendor_completions.d"
fi
man="$share/man/man1"
bash_completion="$share/bash-completion/completions/h4mk"
zsh_completion="$share/zsh/site-functions/_h4mk"
fish_completion="$fish/h4mk.fish"

if [ "$action" = uninstall ]; then
  rm -fv "$plugins/libgsth4.so" "$bin/h4mk" "$man"/h4mk.1 "$man"/h4mk-*.1 \
    "$bash_completion" "$zsh_completion" "$fish_completion"
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
# Man pages and completions come from the same definitions as --help.
install -d "$man" "$(dirname "$bash_completion")" "$(dirname "$zsh_completion")" "$fish"
target/release/h4mk man --dir "$man"
target/release/h4mk completions bash > "$bash_completion"
target/release/h4mk completions zsh > "$zsh_completion"
target/release/h4mk completions fish > "$fish_completion"
echo "installed the h4 plugin into $plugins, h4mk into $bin, its man pages into $man"
echo "and its completions for bash, zsh and fish"
echo "check: gst-inspect-1.0 h4mkmux"
