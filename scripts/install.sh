#!/usr/bin/env bash
# Installs what the project needs and is missing; fast when all is there.
#   scripts/install.sh            everything: Debian packages, Kafka jars,
#                                 versitygw, the contract-check venv
#   scripts/install.sh apt PKG... only these Debian packages
# Debian packages come from apt (their versions are pinned by the Debian 12
# release); Kafka and versitygw versions are pinned in scripts/local.env.
STEP=install
. "$(dirname "$0")/lib.sh"

# Build, test and local-stack packages (Debian 12 "bookworm").
APT_PACKAGES=(
  build-essential pkg-config clang llvm lld clang-format libclang-rt-14-dev
  libmicrohttpd-dev librdkafka-dev libhiredis-dev libpq-dev libcjson-dev
  libcurl4-openssl-dev libssl-dev libcriterion-dev
  postgresql postgresql-client redis-server redis-tools
  curl ca-certificates jq openssl maven default-jdk-headless python3-venv
  nginx-light gnuplot-nox podman debootstrap runc
)

apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Java and Maven may come from elsewhere (e.g. an SDK manager): accept them.
drop_present_tools() {
  local out=()
  for p in "${APT_PACKAGES[@]}"; do
    case $p in
      maven) command -v mvn >/dev/null && continue ;;
      default-jdk-headless) command -v java >/dev/null && continue ;;
      python3-venv) python3 -c 'import venv, ensurepip' 2>/dev/null && continue ;;
    esac
    out+=("$p")
  done
  APT_PACKAGES=("${out[@]}")
}

if [[ ${1:-} == apt ]]; then
  shift
  apt_install "$@"
  exit 0
fi

drop_present_tools
apt_install "${APT_PACKAGES[@]}"
command -v go >/dev/null || die "Go (>= 1.22) is needed to build versitygw; install it first"
"$ROOT/scripts/kafka.sh" install
"$ROOT/scripts/s3.sh" install
if [[ -x "$ROOT/tests/contracts/setup.sh" ]]; then "$ROOT/tests/contracts/setup.sh"; fi
"$ROOT/scripts/install-k8s-tools.sh"
say "all dependencies present"
