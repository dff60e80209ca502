# Shared by scripts/demo.sh and scripts/test.sh: install what a Debian 12
# machine lacks, then configure and build. Sourced, not run.

RELAIS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RELAIS_PACKAGES=(g++ cmake make pkg-config clang-format ccache
                 libsqlite3-dev libssl-dev libgtest-dev
                 libboost1.81-dev nlohmann-json3-dev)

relais_log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Installs the packages of RELAIS_PACKAGES that are not installed yet;
# does nothing (and needs no network) when all are there.
relais_install_missing() {
  local missing=() p
  for p in "${RELAIS_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    relais_log "all build dependencies are installed"
    return 0
  fi
  relais_log "installing: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# relais_build NAME BUILD_TYPE [CMAKE_ARGS...]: configures build/NAME and
# builds it with every core. ccache is shared between build directories.
relais_build() {
  local name=$1 type=$2
  shift 2
  export CCACHE_BASEDIR="$RELAIS_ROOT" CCACHE_NOHASHDIR=true
  relais_log "building $name ($type)"
  cmake -S "$RELAIS_ROOT" -B "$RELAIS_ROOT/build/$name" -DCMAKE_BUILD_TYPE="$type" \
    -Wno-dev "$@" >/dev/null &&
    cmake --build "$RELAIS_ROOT/build/$name" -j"$(nproc)" -- --no-print-directory >/dev/null
}
