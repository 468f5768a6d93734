#!/usr/bin/env bash
# Installs the pinned Kubernetes delivery tools into the user cache, so a
# fresh machine gets them and CI reuses them (fast when all is present):
#   helm             Go module proxy (go install), version stamped via -ldflags
#   netpolicy        np-guard/netpol-analyzer, Go module proxy
#   promtool         Prometheus rule checks and rule unit tests, Go module
#                    proxy (module v0.316.0 is Prometheus 3.16.0)
#   kubernetes-validate, checkov   PyPI, in one venv
# Everything lands under ~/.cache/orders-pipeline/k8s-tools; print its bin/
# directory with `scripts/install-k8s-tools.sh --bin-dir`.
STEP=k8s-tools
. "$(dirname "$0")/lib.sh"

HELM_VERSION=v3.22.0
NETPOL_ANALYZER_VERSION=v1.4.4
PROMTOOL_VERSION=v0.316.0
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECKOV_VERSION=3.3.30

TOOLS="$CACHE/k8s-tools"
BIN="$TOOLS/bin"
VENV="$TOOLS/venv"
if [[ ${1:-} == --bin-dir ]]; then echo "$BIN"; exit 0; fi
mkdir -p "$BIN"

# stamp NAME VERSION: a file recording which version of NAME is installed,
# so a changed pin reinstalls and an unchanged one costs nothing.
stamp_ok() { [[ -x $BIN/$1 && $(cat "$TOOLS/$1.version" 2>/dev/null) == "$2" ]]; }
stamp() { echo "$2" >"$TOOLS/$1.version"; }

# go_tool NAME VERSION MODULE PACKAGE [go build flags]: downloads MODULE at
# exactly VERSION (checked against the Go checksum database) and builds
# PACKAGE inside it, so its own go.mod/go.sum pin every dependency, as
# `go install pkg@version` would (GOWORK=off: a module may ship a go.work
# naming folders its zip lacks). (Not go install itself: it also asks the
# proxy for the module's version list, which the proxy refuses for some.)
go_tool() {
  local name=$1 version=$2 module=$3 pkg=$4; shift 4
  stamp_ok "$name" "$version" && return 0
  command -v go >/dev/null || die "Go (>= 1.24) is needed to build $name; install it first"
  say "building $name $version from the Go module proxy (a few minutes the first time)"
  local log="$TOOLS/$name-install.log" dir
  dir="$(cd "$TOOLS" && GOFLAGS=-mod=mod go mod download -json "$module@$version" 2>>"$log" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n $dir && -d $dir ]] || fail_log "$log" "go mod download $module@$version failed"
  if ! (cd "$dir" && CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=readonly go build -trimpath -o "$BIN/$name" "$@" "$pkg") >>"$log" 2>&1; then
    fail_log "$log" "building $pkg@$version failed"
  fi
  stamp "$name" "$version"
}

fail_log() { tail -n 30 "$1" >&2; die "$2"; }

go_tool helm "$HELM_VERSION" helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm \
  -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
go_tool netpolicy "$NETPOL_ANALYZER_VERSION" github.com/np-guard/netpol-analyzer \
  github.com/np-guard/netpol-analyzer/cmd/netpolicy
go_tool promtool "$PROMTOOL_VERSION" github.com/prometheus/prometheus \
  github.com/prometheus/prometheus/cmd/promtool

PY_PINS="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION checkov==$CHECKOV_VERSION"
if [[ $(cat "$TOOLS/venv.version" 2>/dev/null) != "$PY_PINS" || ! -x $VENV/bin/checkov ]]; then
  "$ROOT/scripts/install.sh" apt python3-venv
  say "installing $PY_PINS into $VENV (PyPI)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q --disable-pip-version-check $PY_PINS \
    >"$TOOLS/venv-install.log" 2>&1 || fail_log "$TOOLS/venv-install.log" "pip install failed"
  echo "$PY_PINS" >"$TOOLS/venv.version"
fi
ln -sf "$VENV/bin/kubernetes-validate" "$BIN/kubernetes-validate"
ln -sf "$VENV/bin/checkov" "$BIN/checkov"
say "helm $HELM_VERSION, netpolicy $NETPOL_ANALYZER_VERSION, promtool $PROMTOOL_VERSION, kubernetes-validate $KUBERNETES_VALIDATE_VERSION, checkov $CHECKOV_VERSION in $BIN"
