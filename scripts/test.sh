#!/usr/bin/env bash
# The test command: installs what is missing, checks formatting, then builds
# and runs the whole suite twice: optimised with warnings as errors, and
# under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

relais_install_missing "${RELAIS_TEST_PACKAGES[@]}"
relais_build_web
# The browser test must run here, not be skipped.
export RELAIS_WEB_REQUIRED=1

relais_log "checking formatting (clang-format)"
(cd "$RELAIS_ROOT" && git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run --Werror)

jobs=$(nproc)
relais_build release RelWithDebInfo -DRELAIS_WERROR=ON
relais_log "running the suite (release)"
ctest --test-dir "$RELAIS_ROOT/build/release" -j"$jobs" --output-on-failure --no-tests=error

relais_build asan Debug -DRELAIS_WERROR=ON -DRELAIS_SANITIZE=ON -DRELAIS_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-O1 -g1"
relais_log "running the suite (AddressSanitizer + UndefinedBehaviorSanitizer)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$RELAIS_ROOT/build/asan" -j"$jobs" --output-on-failure --no-tests=error
