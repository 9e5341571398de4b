#!/usr/bin/env bash
# Builds the images the benchmarks need beyond hack/test-images, with umoci
# and skopeo (none of Krill's code), and pushes them to the test registry as
# <addr>/krill-bench/<name>:latest:
#   pause         containerd's sandbox image: Debian's static catatonit in pause
#                 mode (what CRI-O and podman use). Krill pins namespaces and needs none.
#   many-files    a language-runtime image: 6 gzip'd layers, ~122 MiB, ~18 400
#                 files in ~540 directories (bench/lib/tree_plan.ts)
#   links-xattrs  3 layers, ~2400 files, 3100 hard links, file capabilities
#                 (security.capability) and user.* xattrs
# The generated images' files come from bench/gen_tree.js (seeded, so every
# build has the same bytes) with fixed times, so their digests do not change
# from one build to the next.
#
# A no-op for each image the registry already serves built from the same
# recipe, as its config's label says (the pause image: the catatonit version;
# the generated ones: org.krill.bench.recipe, a hash of this script and the
# generator's sources). --force rebuilds and pushes all of them.
#
# Usage: bench/images.sh [--force]   (root; the registry must be running:
# hack/registry start; dist/bench/gen_tree.js must be built: make build)
# Prints the pause image's reference as its only stdout line.
#        bench/images.sh --layout DIR   builds the generated images into the OCI
# layout DIR (tags many-files, links-xattrs) and pushes nothing (to inspect them,
# or to check that two builds give the same digests).
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$REPO/bench/images.sh
NODE=$REPO/node_modules/.bin/node
GEN=$REPO/dist/bench/gen_tree.js
GEN_SOURCES=(bench/gen_tree.ts bench/lib/tree_plan.ts bench/lib/tree_content.ts bench/lib/prng.ts)
ADDR=${KRILL_TEST_REGISTRY:-127.0.0.1:5055}
CATATONIT=/usr/bin/catatonit
LABEL=org.krill.bench.recipe
# Fixed times (as hack/test-images): files, history and config.
EPOCH=1704067200
CREATED=2024-01-01T00:00:00Z
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { echo "bench/images: $*" >&2; }
die() { echo "bench/images: $*" >&2; exit 1; }

force=0 only_layout=
while (($#)); do
  case $1 in
    --force) force=1 ;;
    --layout) only_layout=${2:?--layout wants a directory}; shift ;;
    *) die "unknown argument: $1 (usage: bench/images.sh [--force] [--layout DIR])" ;;
  esac
  shift
done

for t in umoci skopeo jq curl setfattr setcap sha256sum; do command -v "$t" >/dev/null || die "$t is missing (run hack/install-deps)"; done
[[ -x $CATATONIT ]] || die "$CATATONIT is missing (run hack/install-deps)"
[[ -f $GEN ]] || die "$GEN is missing (make build)"
for s in "${GEN_SOURCES[@]}"; do
  [[ ! $REPO/$s -nt $GEN ]] || die "$s is newer than $GEN (make build)"
done

catatonit_version=$(dpkg-query -W -f='${Version}' catatonit 2>/dev/null || echo unknown)
# What NAME's label must say for the registry's copy to count as built from
# this recipe: the pause image keeps its catatonit version label, the
# generated ones carry a hash of this script and the generator's sources.
label_of() { case $1 in pause) echo org.krill.bench.catatonit ;; *) echo "$LABEL" ;; esac; }
recipe_of() {
  if [[ $1 == pause ]]; then echo "$catatonit_version"; return; fi
  { sha256sum <"$SELF"; echo "$1"; (cd "$REPO" && cat "${GEN_SOURCES[@]}"); } | sha256sum | cut -c1-16
}

# What the registry serves now for NAME, if anything: its config's label.
served_recipe() {
  local manifest cfg
  manifest=$(curl -sf --max-time 5 -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$ADDR/v2/krill-bench/$1/manifests/latest") || return 0
  cfg=$(jq -r '.config.digest // empty' <<<"$manifest")
  [[ -n $cfg ]] || return 0
  curl -sf --max-time 5 "http://$ADDR/v2/krill-bench/$1/blobs/$cfg" | jq -r --arg l "$(label_of "$1")" '.config.Labels[$l] // empty'
}

work=$(mktemp -d /tmp/krill-bench-image.XXXXXX)
trap 'rm -rf "$work"' EXIT

push() { # NAME LAYOUT
  skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$2:$1" "docker://$ADDR/krill-bench/$1:latest" >&2
  [[ $(served_recipe "$1") == "$(recipe_of "$1")" ]] || die "pushed krill-bench/$1 but the registry does not serve it"
}

build_pause() {
  local layout=$work/pause/oci b=$work/pause/bundle
  mkdir -p "$work/pause"
  umoci init --layout "$layout"
  umoci new --image "$layout:pause"
  umoci unpack --image "$layout:pause" "$b" >/dev/null
  install -m 0755 "$CATATONIT" "$b/rootfs/pause"
  umoci repack --image "$layout:pause" "$b" >/dev/null
  umoci config --image "$layout:pause" --os linux --architecture amd64 \
    --config.entrypoint /pause --config.cmd -P --config.user 65535:65535 \
    --config.label "org.krill.bench.catatonit=$(recipe_of pause)"
  push pause "$layout"
}

# Every path created or changed while building a layer gets the fixed mtime.
normalize_times() {
  find "$1" -newermt "@$((EPOCH + 86400))" -exec touch -h -d "@$EPOCH" {} +
}

# The generated images: one bundle, each layer written into it by the
# generator (xattrs and capabilities set here) and packed with
# `repack --refresh-bundle`, so the next layer is the difference from it.
build_generated() { # NAME LAYOUT
  local name=$1 layout=$2 b=$work/$name/bundle desc n i by
  mkdir -p "$work/$name"
  desc=$("$NODE" "$GEN" describe "$name")
  n=$(jq '.layers | length' <<<"$desc")
  [[ -f $layout/index.json ]] || umoci init --layout "$layout"
  umoci new --image "$layout:$name"
  umoci config --no-history --image "$layout:$name" --created "$CREATED" --os linux --architecture amd64 \
    --config.env "$PATH_ENV" --config.cmd /bin/sh
  umoci unpack --image "$layout:$name" "$b" >/dev/null
  for ((i = 0; i < n; i++)); do
    by=$(jq -r --argjson i "$i" '.layers[$i].createdBy' <<<"$desc")
    log "$name: layer $((i + 1))/$n: $by"
    "$NODE" "$GEN" write "$name" "$i" "$b/rootfs" "$work/xattrs" "$work/caps"
    [[ -s $work/xattrs ]] && setfattr --restore="$work/xattrs"
    while read -r cap path; do setcap "$cap" "$path"; done <"$work/caps"
    normalize_times "$b/rootfs"
    umoci repack --refresh-bundle --history.created "$CREATED" --history.created_by "$by" \
      --image "$layout:$name" "$b" >/dev/null
  done
  rm -rf "$b"
  umoci config --no-history --image "$layout:$name" --config.label "$LABEL=$(recipe_of "$name")"
  umoci gc --layout "$layout"
  rm -rf "${work:?}/$name"
}

if [[ -n $only_layout ]]; then
  for name in many-files links-xattrs; do
    log "building $name into $only_layout"
    build_generated "$name" "$only_layout"
  done
  exit 0
fi

for name in pause many-files links-xattrs; do
  if ((!force)) && [[ $(served_recipe "$name") == "$(recipe_of "$name")" ]]; then continue; fi
  log "building krill-bench/$name"
  if [[ $name == pause ]]; then
    build_pause
  else
    build_generated "$name" "$work/$name.oci"
    push "$name" "$work/$name.oci"
    rm -rf "${work:?}/$name.oci"
  fi
  log "pushed $ADDR/krill-bench/$name:latest"
done
echo "$ADDR/krill-bench/pause:latest"
