#!/usr/bin/env bash
# Builds one container image per service (every services/<name>/main.c) with
# podman, offline (--pull=never): the Debian base images are made locally
# with debootstrap + podman import the first time, then reused.
#   scripts/images.sh                 all services
#   scripts/images.sh publisher ...   only these
# Incremental: each image carries a label with the digest of its inputs
# (Dockerfile, Makefile, common/, services/<name>/, base image ids, version);
# an image whose inputs did not change is not rebuilt at all, and a rebuild
# reuses podman's layer cache (package installs, libcommon).
# Env: IMAGE_REPO (localhost/orders-pipeline), IMAGE_TAG (0.1.0),
#      IMAGE_MAX_MB (60): a larger image fails the build,
#      IMAGE_REBUILD=1: build even when the inputs did not change,
#      OP_PODMAN_ROOT: a private podman store (tests/chart/podman-env.sh).
STEP=images
. "$(dirname "$0")/lib.sh"

IMAGE_REPO="${IMAGE_REPO:-localhost/orders-pipeline}"
IMAGE_TAG="${IMAGE_TAG:-0.1.0}"
IMAGE_MAX_MB="${IMAGE_MAX_MB:-60}"
IMAGE_REBUILD="${IMAGE_REBUILD:-0}"
IMAGE_UID=65532
BUILD_BASE=docker.io/library/debian:bookworm
RUNTIME_BASE=docker.io/library/debian:bookworm-slim
INPUTS_LABEL=io.orders-pipeline.inputs

"$ROOT/scripts/install.sh" apt podman debootstrap runc
# shellcheck source=../tests/chart/podman-env.sh
. "$ROOT/tests/chart/podman-env.sh"

# debootstrap from the machine's own Debian mirror (first URIs line).
mirror() {
  local m
  m="$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)"
  [[ -n $m ]] || m="$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
  echo "${m:-http://deb.debian.org/debian}"
}

base_images() {
  if podman image exists "$BUILD_BASE" && podman image exists "$RUNTIME_BASE"; then return 0; fi
  # A private directory: other checkouts may bootstrap at the same time.
  local dir
  dir="$(mktemp -d "$CACHE/rootfs-bookworm.XXXXXX")"
  say "making $BUILD_BASE and $RUNTIME_BASE with debootstrap (minbase) from $(mirror)"
  debootstrap --variant=minbase bookworm "$dir" "$(mirror)" >"$LOGS/debootstrap.log" 2>&1 ||
    { tail -20 "$LOGS/debootstrap.log" >&2; rm -rf "$dir"; die "debootstrap failed"; }
  # A small, clean base: no package caches or lists, no docs.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
  tar -C "$dir" -c . | podman import - "$BUILD_BASE" >/dev/null
  podman tag "$BUILD_BASE" "$RUNTIME_BASE"
  rm -rf "$dir"
}

# inputs_digest SERVICE: sha256 over everything the image is made from. The
# revision label is left out on purpose: a commit that changes nothing the
# image is built from must not rebuild it (the label then names the first
# commit that produced these exact inputs).
inputs_digest() {
  {
    (cd "$ROOT" && find Makefile docker/Dockerfile common "services/$1" -type f -print0 |
      sort -z | xargs -0 sha256sum)
    podman image inspect --format '{{.Id}}' "$BUILD_BASE" "$RUNTIME_BASE"
    echo "tag=$IMAGE_TAG uid=$IMAGE_UID"
  } | sha256sum | cut -c1-64
}

services=("$@")
if ((${#services[@]} == 0)); then
  for m in "$ROOT"/services/*/main.c; do services+=("$(basename "$(dirname "$m")")"); done
fi
base_images
revision="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
for s in "${services[@]}"; do
  [[ -f $ROOT/services/$s/main.c ]] || die "no service $s (services/$s/main.c)"
  img="$IMAGE_REPO/$s:$IMAGE_TAG"
  digest="$(inputs_digest "$s")"
  have="$(podman image inspect --format "{{index .Labels \"$INPUTS_LABEL\"}}" "$img" 2>/dev/null || true)"
  if [[ $IMAGE_REBUILD != 1 && $have == "$digest" ]]; then
    say "$img is up to date (inputs ${digest:0:12})"
  else
    say "building $img (inputs ${digest:0:12})"
    # The build context is only what this image is built from: never
    # .local/ (data, secrets), build trees or other services.
    ctx="$work/$s"
    mkdir -p "$ctx/services"
    cp -r "$ROOT/Makefile" "$ROOT/common" "$ctx/"
    cp -r "$ROOT/services/$s" "$ctx/services/"
    if ! podman build --pull=never --layers -q -f "$ROOT/docker/Dockerfile" -t "$img" \
        --build-arg SERVICE="$s" --build-arg UID="$IMAGE_UID" \
        --build-arg VERSION="$IMAGE_TAG" --build-arg REVISION="$revision" \
        --label "$INPUTS_LABEL=$digest" \
        "$ctx" >"$LOGS/image-$s.log" 2>&1; then
      tail -30 "$LOGS/image-$s.log" >&2
      warn "image $s failed (log $LOGS/image-$s.log)"
      failed=$((failed + 1)); continue
    fi
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
