#!/usr/bin/env bash
# The web app in a real browser: a relais-server on 127.0.0.1, two laptops
# of one site enrolled with it, each running `relais serve` with its
# background sync, and clients/web/e2e/app.test.mjs driving Debian's
# Chromium headless in a phone viewport against them.
# usage: browser_test.sh RELAIS RELAIS_SERVER [SCREENSHOT_DIR]
# (or $RELAIS_SCREENSHOTS: screenshots of the main screens at phone size)
# Exits 77 (skipped) when the web app is not built or Chromium is missing,
# unless RELAIS_WEB_REQUIRED=1 (the test command sets it): then it fails.
set -euo pipefail

relais_bin=$1
server_bin=$2
shots=${3:-${RELAIS_SCREENSHOTS:-}}
root=$(cd "$(dirname "$0")/../.." && pwd)
web="$root/clients/web"
chromium=${RELAIS_CHROMIUM:-/usr/bin/chromium}

missing=
[ -f "$web/dist/index.html" ] ||
  missing="the built web app (cd clients/web && npm ci && npm run build)"
[ -d "$web/node_modules/playwright-core" ] || missing="clients/web/node_modules (npm ci)"
[ -x "$chromium" ] || missing="Chromium at $chromium (apt-get install chromium)"
if [ -n "$missing" ]; then
  echo "browser test: missing $missing" >&2
  [ "${RELAIS_WEB_REQUIRED:-0}" = 1 ] && exit 1
  exit 77
fi

work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${keep_logs:-0}" = 1 ]; then
    for log in "$work"/*.log; do echo "--- $log" >&2; tail -n 40 "$log" >&2; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
keep_logs=1

srv=(env "$server_bin" --config "$work/srv/relais-server.json")
password="mot de passe du test $RANDOM$RANDOM"

# The server: one site, two counsellors who log in to the web app.
"${srv[@]}" init >/dev/null
"${srv[@]}" site add lyon >/dev/null
for user in samia karim; do
  "${srv[@]}" user add "$user" --role counsellor --site lyon >/dev/null
  printf '%s\n' "$password" | "${srv[@]}" user password "$user" >/dev/null
done

# Waits for a program's first line of JSON on standard output (its address)
# in FILE; prints the "url" it names.
url_of() {
  local file=$1 i
  for i in $(seq 1 300); do
    if [ -s "$file" ]; then
      sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$file" | head -n 1
      return 0
    fi
    sleep 0.1
  done
  echo "no address in $file" >&2
  return 1
}

"${srv[@]}" serve --port 0 >"$work/server.out" 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 1 300); do
  grep -q '^listening on ' "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
[ -n "$port" ] || { echo "relais-server did not start" >&2; exit 1; }

# Two laptops: A prepares the job fair (an event, a partner, a programme).
for laptop in a:samia b:karim; do
  name=${laptop%%:*} user=${laptop#*:}
  code=$("${srv[@]}" enroll-code "$user" 2>/dev/null)
  "$relais_bin" --replica "$work/$name.db" init --site lyon --user "$user" >/dev/null
  "$relais_bin" --replica "$work/$name.db" enroll "wss://127.0.0.1:$port" "$code" \
    --ca "$work/srv/server.crt" >/dev/null
done
A=("$relais_bin" --replica "$work/a.db")
event_title="Forum emploi de Villeurbanne"
"${A[@]}" add event title="$event_title" kind=job_fair date=2026-12-03 \
  place="Palais du travail" >/dev/null
partner=$("${A[@]}" add partner name="Mission Locale de Villeurbanne" kind=mission_locale)
"${A[@]}" add programme name="Prépa apprentissage" kind=pre_qualification \
  partner="$partner" >/dev/null

for name in a b; do
  "$relais_bin" --replica "$work/$name.db" --json serve --listen 127.0.0.1:0 \
    --web "$web/dist" --ca "$work/srv/server.crt" \
    >"$work/serve-$name.out" 2>"$work/serve-$name.log" &
  pids+=($!)
done
url_a=$(url_of "$work/serve-a.out")
url_b=$(url_of "$work/serve-b.out")

cd "$web"
RELAIS_WEB_A=$url_a RELAIS_WEB_B=$url_b RELAIS_USER=samia RELAIS_PASSWORD=$password \
  RELAIS_EVENT_TITLE=$event_title RELAIS_CHROMIUM=$chromium RELAIS_SCREENSHOTS=$shots \
  node --test --test-concurrency=1 --test-reporter=spec e2e/app.test.mjs
keep_logs=0
