#!/usr/bin/env bash
# Builds one container image per service (every services/<name>/main.c) with
# podman, offline (--pull=never): the Debian base images are made locally
# with debootstrap + podman import the first time, then reused.
#   scripts/images.sh                 all services
#   scripts/images.sh publisher ...   only these
# Env: IMAGE_REPO (localhost/orders-pipeline), IMAGE_TAG (0.1.0),
#      IMAGE_MAX_MB (60): a larger image fails the build.
STEP=images
. "$(dirname "$0")/lib.sh"

IMAGE_REPO="${IMAGE_REPO:-localhost/orders-pipeline}"
IMAGE_TAG="${IMAGE_TAG:-0.1.0}"
IMAGE_MAX_MB="${IMAGE_MAX_MB:-60}"
BUILD_BASE=docker.io/library/debian:bookworm
RUNTIME_BASE=docker.io/library/debian:bookworm-slim

"$ROOT/scripts/install.sh" apt podman debootstrap runc

# This machine (cgroup v1, no systemd in the VM) needs runc + cgroupfs and no
# default rlimits; keep that in a project file rather than /etc.
export CONTAINERS_CONF="$CACHE/containers.conf"
cat >"$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF

# debootstrap from the machine's own Debian mirror (first URIs line).
mirror() {
  local m
  m="$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)"
  [[ -n $m ]] || m="$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
  echo "${m:-http://deb.debian.org/debian}"
}

base_images() {
  if podman image exists "$BUILD_BASE" && podman image exists "$RUNTIME_BASE"; then return 0; fi
  local dir="$CACHE/rootfs-bookworm"
  say "making $BUILD_BASE and $RUNTIME_BASE with debootstrap (minbase) from $(mirror)"
  rm -rf "$dir"
  debootstrap --variant=minbase bookworm "$dir" "$(mirror)" >"$LOGS/debootstrap.log" 2>&1 ||
    { tail -20 "$LOGS/debootstrap.log" >&2; die "debootstrap failed"; }
  # A small, clean base: no package caches or lists, no docs.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
  tar -C "$dir" -c . | podman import - "$BUILD_BASE" >/dev/null
  podman tag "$BUILD_BASE" "$RUNTIME_BASE"
  rm -rf "$dir"
}

services=("$@")
if ((${#services[@]} == 0)); then
  for m in "$ROOT"/services/*/main.c; do services+=("$(basename "$(dirname "$m")")"); done
fi
base_images
revision="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
# The build context is only what the Dockerfile copies: never .local/
# (data, secrets) or build trees.
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp -r "$ROOT/Makefile" "$ROOT/common" "$ROOT/services" "$ctx/"
failed=0
for s in "${services[@]}"; do
  [[ -f $ROOT/services/$s/main.c ]] || die "no service $s (services/$s/main.c)"
  img="$IMAGE_REPO/$s:$IMAGE_TAG"
  say "building $img"
  if ! podman build --pull=never -q -f "$ROOT/docker/Dockerfile" -t "$img" \
      --build-arg SERVICE="$s" --build-arg VERSION="$IMAGE_TAG" --build-arg REVISION="$revision" \
      "$ctx" >"$LOGS/image-$s.log" 2>&1; then
    tail -30 "$LOGS/image-$s.log" >&2
    warn "image $s failed (log $LOGS/image-$s.log)"
    failed=$((failed + 1)); continue
  fi
  bytes="$(podman image inspect --format '{{.Size}}' "$img")"
  mb=$((bytes / 1000000))
  if ((mb >= IMAGE_MAX_MB)); then
    warn "$img is ${mb} MB, the limit is ${IMAGE_MAX_MB} MB"
    failed=$((failed + 1)); continue
  fi
  say "$img: ${mb} MB"
done
((failed == 0)) || die "$failed image(s) failed"
