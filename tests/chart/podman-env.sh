# shellcheck shell=bash
# Podman settings shared by scripts/images.sh and tests/chart/podman-e2e.sh.
# Source it after scripts/lib.sh (needs CACHE). Do not run it.
#
# This machine (cgroup v1, no systemd in the VM) needs runc + cgroupfs and no
# default rlimits (crun cannot set them here); keep that in a project file
# rather than /etc.
#
# OP_PODMAN_ROOT=<dir>: use a private image/container store under <dir>
# instead of the machine's (/var/lib/containers). CI can point it at a cached
# directory; a fresh directory measures a cold run without touching the
# images other checkouts use.

export CONTAINERS_CONF="$CACHE/containers.conf"
# Written through a temporary file and rename: several checkouts may source
# this at the same time, and none may read a half-written file.
_op_conf_tmp="$(mktemp "$CACHE/containers.conf.XXXXXX")"
cat >"$_op_conf_tmp" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
chmod 644 "$_op_conf_tmp"
mv -f "$_op_conf_tmp" "$CONTAINERS_CONF"
unset _op_conf_tmp

PODMAN_GLOBAL=()
if [[ -n ${OP_PODMAN_ROOT:-} ]]; then
  mkdir -p "$OP_PODMAN_ROOT/storage" "$OP_PODMAN_ROOT/run" "$OP_PODMAN_ROOT/tmp"
  PODMAN_GLOBAL=(--root "$OP_PODMAN_ROOT/storage" --runroot "$OP_PODMAN_ROOT/run"
    --tmpdir "$OP_PODMAN_ROOT/tmp")
fi
# Every podman call of the sourcing script goes to the same store.
podman() { command podman "${PODMAN_GLOBAL[@]}" "$@"; }
