# Shared by scripts/demo.sh and scripts/test.sh: install what a Debian 12
# machine lacks, then configure and build. Sourced, not run.

RELAIS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RELAIS_PACKAGES=(g++ cmake make pkg-config clang-format ccache
                 libsqlite3-dev libssl-dev libgtest-dev
                 libboost1.81-dev nlohmann-json3-dev)

# What the browser test adds (scripts/test.sh only).
RELAIS_TEST_PACKAGES=(chromium)

relais_log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Installs the packages of RELAIS_PACKAGES, and any given as arguments, that
# are not installed yet; does nothing (and needs no network) when all are there.
relais_install_missing() {
  local missing=() p
  for p in "${RELAIS_PACKAGES[@]}" "$@"; do
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

# Builds the web app (clients/web/dist) and runs its unit tests: npm ci when
# node_modules does not match package-lock.json, then vite build. Needs
# Node.js 20.19 or later with npm (what a Debian 12 machine of this project has).
relais_build_web() {
  local web="$RELAIS_ROOT/clients/web"
  command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "the web app needs Node.js 20.19+ and npm: none found" >&2; return 1; }
  node -e 'const [a, b] = process.versions.node.split(".").map(Number);
           process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
    { echo "the web app needs Node.js 20.19+, not $(node --version)" >&2; return 1; }
  if ! cmp -s "$web/package-lock.json" "$web/node_modules/.package-lock.json.relais" 2>/dev/null; then
    relais_log "installing the web app's packages (npm ci)"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) &&
      cp "$web/package-lock.json" "$web/node_modules/.package-lock.json.relais"
  fi
  relais_log "building the web app"
  (cd "$web" && npm test --silent >/dev/null && npm run build --silent >/dev/null)
}
