#!/usr/bin/env bash
# A central relais-server on its embedded SQLite store, two sites with
# replicas that work offline, and a central-team replica: each records and
# edits offline, then syncs over WebSocket/TLS in any order; replicas that
# share a scope end identical and the central replica holds every site.
# Exits non-zero if they do not converge.
# usage: server-demo.sh PATH_TO_RELAIS PATH_TO_RELAIS_SERVER
set -euo pipefail

relais_bin=$1
server_bin=$2
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m--- %s\033[0m\n' "$*"; }
say() { printf '    %s\n' "$*"; }
admin() { "$server_bin" --config "$work/server/relais-server.json" "$@"; }
replica() { local name=$1; shift; RELAIS_REPLICA="$work/$name.db" "$relais_bin" "$@"; }

step "A central server on 127.0.0.1, with a self-signed certificate"
admin init | sed 's/^/    /'
admin site add lyon >/dev/null
admin site add marseille >/dev/null
admin user add samia --role counsellor --site lyon >/dev/null
admin user add karim --role counsellor --site lyon >/dev/null
admin user add lea --role counsellor --site marseille >/dev/null
admin user add central.team --role central >/dev/null
"$server_bin" --config "$work/server/relais-server.json" serve --port 0 \
  >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do grep -q listening "$work/server.out" && break; sleep 0.05; done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
say "serving on wss://127.0.0.1:$port (log: structured lines, no personal data)"

step "Four replicas enroll with one-time codes"
for r in samia:lyon karim:lyon lea:marseille central.team:lyon; do
  user=${r%%:*}
  replica "$user" init --site "${r##*:}" --user "$user" >/dev/null
  code=$(admin enroll-code "$user" 2>/dev/null)
  replica "$user" enroll "wss://127.0.0.1:$port" "$code" --ca "$work/server/server.crt" | sed 's/^/    /'
done

step "Offline, each records what they meet"
lina=$(replica samia add person first_name=Lina last_name=Benali phone=0612345678 situation=neet)
replica samia add partner name="Mission Locale Lyon" kind=mission_locale >/dev/null
replica karim add person first_name=Yanis last_name=Moreau age_band=15_17 >/dev/null
replica lea add person first_name=Inès last_name=Roussel email=ines@example.org >/dev/null
replica lea add event title="Forum Marseille" kind=forum date=2026-12-04 >/dev/null
replica central.team add programme name="Prépa apprentissage" kind=pre_qualification >/dev/null
say "samia 2, karim 1, lea 2, central team 1 record(s)"

step "They sync, in no particular order"
for r in karim lea samia central.team karim lea; do
  printf '    %-13s ' "$r:"; replica "$r" sync
done

step "Samia and Karim edit Lina's phone at the same time, offline"
replica samia edit person "$lina" phone=0611111111 >/dev/null
replica karim edit person "$lina" phone=0622222222 commune=Lyon >/dev/null
for r in samia karim samia karim central.team; do
  printf '    %-13s ' "$r:"; replica "$r" sync
done
replica karim conflicts | sed 's/^/    karim: /'

step "Karim settles it; live sync carries the decision"
RELAIS_REPLICA="$work/samia.db" "$relais_bin" sync --watch 2>/dev/null &
watch_pid=$!
sleep 0.5
replica karim settle "$lina" phone --pick 2 | sed 's/^/    /'
replica karim sync >/dev/null
live=no
for _ in $(seq 100); do
  [ "$(replica samia --json conflicts)" = "[]" ] && live=yes && break
  sleep 0.05
done
kill "$watch_pid"; wait "$watch_pid" 2>/dev/null || true
say "Samia's laptop, connected with sync --watch, got the settlement without asking: $live"
replica central.team sync >/dev/null
replica lea sync >/dev/null

step "Result"
for r in samia karim lea central.team; do say "$(printf '%-13s' "$r") $(replica "$r" digest)"; done
say "$(printf '%-13s' server) $(admin digest)"
lyon_a=$(replica samia digest); lyon_b=$(replica karim digest)
central=$(replica central.team digest | cut -d' ' -f1); server=$(admin digest)
if [ "$lyon_a" = "$lyon_b" ] && [ "$central" = "$server" ] && [ "$live" = yes ]; then
  say "Lyon's replicas are identical; the central replica equals the server: all sites merged"
  say "Marseille's replica holds only Marseille's records and the shared ones"
else
  say "the replicas did not converge" >&2
  exit 1
fi
