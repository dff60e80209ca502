#!/usr/bin/env bash
# The main job: installs what is missing, builds, and shows two replicas that
# never see a network converge through operation files (a USB stick).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

relais_install_missing
relais_build release RelWithDebInfo -DRELAIS_BUILD_TESTS=OFF
exec "$RELAIS_ROOT/scripts/offline-demo.sh" "$RELAIS_ROOT/build/release/clients/cli/relais"
