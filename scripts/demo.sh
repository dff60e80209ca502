#!/usr/bin/env bash
# The main job: installs what is missing, builds, then shows replicas
# converging through relais-server (WebSocket over TLS, embedded SQLite
# store), and two laptops converging with no network through bundle files.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

relais_install_missing
relais_build release RelWithDebInfo -DRELAIS_BUILD_TESTS=OFF
bin="$RELAIS_ROOT/build/release"
relais_log "sync through the central server"
"$RELAIS_ROOT/scripts/server-demo.sh" "$bin/clients/cli/relais" "$bin/sync-server/relais-server"
relais_log "no network: two laptops and a USB stick"
"$RELAIS_ROOT/scripts/offline-demo.sh" "$bin/clients/cli/relais"
