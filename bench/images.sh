#!/usr/bin/env bash
# Builds the one image the benchmarks need beyond hack/test-images: the pause
# (sandbox) image containerd runs in every pod, made of Debian's static
# catatonit in pause mode (what CRI-O and podman use as their pause process),
# with umoci and skopeo, and pushes it to the test registry as
# <addr>/krill-bench/pause:latest. Krill pins namespaces instead and needs none.
#
# A no-op when the registry already serves it built from the installed catatonit.
# Usage: bench/images.sh   (root; the registry must be running: hack/registry start)
# Prints the image reference as its only stdout line.
set -euo pipefail
umask 022
export LC_ALL=C

ADDR=${KRILL_TEST_REGISTRY:-127.0.0.1:5055}
REF=$ADDR/krill-bench/pause:latest
CATATONIT=/usr/bin/catatonit

die() { echo "bench/images: $*" >&2; exit 1; }
for t in umoci skopeo jq curl; do command -v "$t" >/dev/null || die "$t is missing (run hack/install-deps)"; done
[[ -x $CATATONIT ]] || die "$CATATONIT is missing (run hack/install-deps)"
version=$(dpkg-query -W -f='${Version}' catatonit 2>/dev/null || echo unknown)

# What the registry serves now, if anything: the catatonit version label of its config.
served_version() {
  local manifest cfg
  manifest=$(curl -sf --max-time 5 -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$ADDR/v2/krill-bench/pause/manifests/latest") || return 0
  cfg=$(jq -r '.config.digest // empty' <<<"$manifest")
  [[ -n $cfg ]] || return 0
  curl -sf --max-time 5 "http://$ADDR/v2/krill-bench/pause/blobs/$cfg" |
    jq -r '.config.Labels["org.krill.bench.catatonit"] // empty'
}

if [[ $(served_version) == "$version" ]]; then
  echo "$REF"
  exit 0
fi

work=$(mktemp -d /tmp/krill-bench-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
layout=$work/oci
umoci init --layout "$layout"
umoci new --image "$layout:pause"
umoci unpack --image "$layout:pause" "$work/bundle" >/dev/null
install -m 0755 "$CATATONIT" "$work/bundle/rootfs/pause"
umoci repack --image "$layout:pause" "$work/bundle" >/dev/null
umoci config --image "$layout:pause" --os linux --architecture amd64 \
  --config.entrypoint /pause --config.cmd -P --config.user 65535:65535 \
  --config.label "org.krill.bench.catatonit=$version"
skopeo copy -q --dest-tls-verify=false "oci:$layout:pause" "docker://$REF" >&2
[[ $(served_version) == "$version" ]] || die "pushed $REF but the registry does not serve it"
echo "$REF"
