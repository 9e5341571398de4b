#!/bin/sh
# Installs Krill from this release bundle (krill-<version>-linux-amd64.tar.gz).
#
#   sudo ./install.sh               install under /usr/local (or $PREFIX)
#   sudo ./install.sh --uninstall   remove what an install put there; keeps
#                                   /etc/krill, /var/lib/krill and every container
#
# What goes where (PREFIX=/usr/local):
#   $PREFIX/lib/krill/          krilld with the Node.js it runs on and its helpers
#   $PREFIX/bin/krilld          a symlink to $PREFIX/lib/krill/bin/krilld
#   $PREFIX/share/man/man8/krilld.8.gz, $PREFIX/share/doc/krill/
#   $UNITDIR/krilld.service     the systemd unit (default $PREFIX/lib/systemd/system
#                               when PREFIX is /usr/local, else /etc/systemd/system)
#   $ETCDIR/krill.toml          the default config (every key commented out), only when
#                               there is none: an existing config is never overwritten
#   $ETCDIR/krill.d/            drop-ins, read after krill.toml (ETCDIR=/etc/krill; another
#                               one is passed to krilld in the unit with --config)
#
# DESTDIR, when set, is prepended to every path (a staging root: packagers, tests).
# An upgrade is the same command with the newer bundle, then `systemctl restart krilld`:
# containers keep running through it.
set -eu

PREFIX=${PREFIX:-/usr/local}
ETCDIR=${ETCDIR:-/etc/krill}
if [ -z "${UNITDIR:-}" ]; then
  case $PREFIX in
    /usr/local) UNITDIR=$PREFIX/lib/systemd/system ;;
    *) UNITDIR=/etc/systemd/system ;;
  esac
fi
DESTDIR=${DESTDIR:-}
bundle=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$bundle/lib/krill/package.json" | head -n 1)

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

case ${1:-} in
  -h|--help) sed -n '2,/^set -eu$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
  --uninstall)
    rm -f "$DESTDIR$PREFIX/bin/krilld" "$DESTDIR$UNITDIR/krilld.service" "$DESTDIR$PREFIX/share/man/man8/krilld.8.gz"
    rm -rf "$DESTDIR$PREFIX/lib/krill" "$DESTDIR$PREFIX/share/doc/krill"
    say "Krill removed from $DESTDIR$PREFIX. Kept: $DESTDIR$ETCDIR (config), /var/lib/krill (images, pods, containers)."
    say "Stop it first if it still runs: systemctl disable --now krilld; systemctl daemon-reload"
    exit 0 ;;
  '') ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac

case $PREFIX in /*) ;; *) die "PREFIX must be an absolute path, got '$PREFIX'" ;; esac
[ -f "$bundle/lib/krill/dist/cmd/krilld/main.js" ] || die "run me from an unpacked bundle (lib/krill is missing beside me)"
if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
  die "run as root (or set DESTDIR to stage the files somewhere)"
fi

# The program: a new tree beside the old one, then swapped in, so that a failed
# copy leaves the installed version whole.
lib=$DESTDIR$PREFIX/lib
mkdir -p "$lib" "$DESTDIR$PREFIX/bin"
rm -rf "$lib/krill.new" "$lib/krill.old"
cp -R "$bundle/lib/krill" "$lib/krill.new"
[ ! -e "$lib/krill" ] || mv "$lib/krill" "$lib/krill.old"
mv "$lib/krill.new" "$lib/krill"
rm -rf "$lib/krill.old"
ln -sfn ../lib/krill/bin/krilld "$DESTDIR$PREFIX/bin/krilld"

mkdir -p "$DESTDIR$PREFIX/share/man/man8" "$DESTDIR$PREFIX/share/doc"
cp "$bundle/share/man/man8/krilld.8.gz" "$DESTDIR$PREFIX/share/man/man8/krilld.8.gz"
rm -rf "$DESTDIR$PREFIX/share/doc/krill"
cp -R "$bundle/share/doc/krill" "$DESTDIR$PREFIX/share/doc/krill"

# The unit, pointing at this PREFIX's krilld.
mkdir -p "$DESTDIR$UNITDIR"
exec_start="$PREFIX/bin/krilld"
[ "$ETCDIR" = /etc/krill ] || exec_start="$exec_start --config $ETCDIR/krill.toml"
sed "s|^ExecStart=/usr/local/bin/krilld\$|ExecStart=$exec_start|" "$bundle/lib/systemd/system/krilld.service" >"$DESTDIR$UNITDIR/krilld.service.new"
grep -q "^ExecStart=$exec_start\$" "$DESTDIR$UNITDIR/krilld.service.new" || die "could not point the unit at $exec_start"
chmod 644 "$DESTDIR$UNITDIR/krilld.service.new"
mv "$DESTDIR$UNITDIR/krilld.service.new" "$DESTDIR$UNITDIR/krilld.service"

# The config: never overwritten.
mkdir -p "$DESTDIR$ETCDIR/krill.d"
if [ -e "$DESTDIR$ETCDIR/krill.toml" ]; then
  config_note="kept your $DESTDIR$ETCDIR/krill.toml (this version's defaults: krilld config default)"
else
  cp "$bundle/etc/krill/krill.toml" "$DESTDIR$ETCDIR/krill.toml"
  chmod 644 "$DESTDIR$ETCDIR/krill.toml"
  config_note="wrote $DESTDIR$ETCDIR/krill.toml (every key commented out at its default)"
fi

say "Krill $version installed under $DESTDIR$PREFIX; $config_note."

# What krilld runs at run time (the Debian names).
missing=
for tool in /usr/bin/runc /usr/bin/conmon /usr/lib/cni/bridge /usr/bin/catatonit; do
  [ -x "$tool" ] || missing="$missing $tool"
done
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || missing="$missing iptables"
if [ -n "$missing" ]; then
  say ""
  say "Missing on this machine:$missing. On Debian or Ubuntu:"
  say "  apt-get install runc conmon containernetworking-plugins iptables catatonit   # and crun, if pods ask for it"
  say "(Elsewhere, set their paths in $ETCDIR/krill.toml: runtime.conmon, runtime.handlers, network.cni_bin_dirs, sandbox.infra_binary.)"
fi

cat <<EOF

Next steps:
  systemctl daemon-reload
  systemctl enable --now krilld
  crictl --runtime-endpoint unix:///run/krill/krill.sock version

Switch kubelet to Krill: give it
  --container-runtime-endpoint=unix:///run/krill/krill.sock
(or containerRuntimeEndpoint in its KubeletConfiguration; its cgroupDriver must equal
runtime.cgroup_driver in $ETCDIR/krill.toml, cgroupfs unless you change it), drain the
node, restart kubelet, and uncordon. Roll back by pointing kubelet at the previous
runtime's socket again.
EOF
