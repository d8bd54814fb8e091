#!/usr/bin/env bash
# Builds troupe's node image with podman, from this machine's build (a
# Debian machine: the image's packages are those its binaries link):
#   1. a minimal Debian rootfs made with debootstrap, holding the packages of
#      the shared libraries `troupe` links (cached by their list and the
#      suite), imported as localhost/troupe-base:<suite>-<key>;
#   2. the Containerfile beside this script, on that base, with `troupe` and
#      the samples of BUILD_DIR stripped of their debug info.
#
# Usage: samples/cluster/container/build_image.sh [BUILD_DIR] [IMAGE]
#        (defaults: build, localhost/troupe:latest)
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian),
# TROUPE_ROOTFS_CACHE (default ~/.cache/troupe/rootfs), PODMAN (default podman).
set -euo pipefail
build=${1:-build}
image=${2:-localhost/troupe:latest}
here=$(cd "$(dirname "$0")" && pwd)
podman=${PODMAN:-podman}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${TROUPE_ROOTFS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/troupe/rootfs}
troupe="$build/tools/troupe"
[ -x "$troupe" ] || { echo "no $troupe: build troupe first (meson compile -C $build)" >&2; exit 2; }
for tool in debootstrap "$podman" objcopy dpkg; do
  command -v "$tool" >/dev/null || { echo "needs $tool (./dev deps installs it)" >&2; exit 2; }
done

# The Debian packages of the libraries troupe and the samples link.
samples=()
for f in "$build"/samples/*; do
  [ -f "$f" ] && [ -x "$f" ] && samples+=("$f")
done
packages=$(ldd "$troupe" "${samples[@]}" | awk '/=> \//{print $3}' | sort -u \
             | xargs -r realpath | { xargs -r dpkg -S 2>/dev/null || true; } \
             | cut -d: -f1 | sort -u \
             | grep -vxE 'libc6|libgcc-s1|libstdc\+\+6|libzstd1|zlib1g' | paste -sd, -)
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:?not a Debian release}")
key=$(printf '%s %s' "$suite" "$packages" | sha256sum | cut -c1-12)
base="localhost/troupe-base:$suite-$key"

if ! "$podman" image exists "$base"; then
  rootfs="$cache/$suite-$key"
  if [ ! -f "$rootfs/.complete" ]; then
    echo "debootstrap $suite with $packages into $rootfs"
    rm -rf "$rootfs"
    mkdir -p "$rootfs"
    debootstrap --variant=minbase --include="ca-certificates,$packages" "$suite" "$rootfs" \
      "$mirror" >"$cache/$suite-$key.log" 2>&1 \
      || { tail -20 "$cache/$suite-$key.log" >&2; exit 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    touch "$rootfs/.complete"
  fi
  tar -C "$rootfs" --exclude ./.complete -c . | "$podman" import - "$base" >/dev/null
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/samples"
objcopy --strip-debug "$troupe" "$context/troupe"
for f in "${samples[@]}"; do
  objcopy --strip-debug "$f" "$context/samples/$(basename "$f")"
done
"$podman" build --quiet --build-arg BASE="$base" -t "$image" -f "$here/Containerfile" \
  "$context" >/dev/null
echo "built $image on $base"
