#!/usr/bin/env bash
# Time to first screen of the web app: `relais serve` over a new replica on
# 127.0.0.1, serving clients/web/dist plus a static baseline page, measured
# by first_screen.mjs in Debian's Chromium headless.
# usage: tests/bench/first_screen_bench.sh build/release/clients/cli/relais [RUNS]
set -euo pipefail

relais_bin=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$root/clients/web/dist/index.html" ] ||
  { echo "build the web app first (cd clients/web && npm ci && npm run build)" >&2; exit 1; }

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

cp -r "$root/clients/web/dist" "$work/web"
cat >"$work/web/baseline.html" <<'HTML'
<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Baseline</title></head>
<body><label for="baseline-input">Identifiant</label> <input id="baseline-input"></body></html>
HTML

password="mot de passe du banc $RANDOM$RANDOM"
"$relais_bin" --replica "$work/r.db" init --site lyon --user samia >/dev/null
# The verifier of a real account: 600,000 iterations, as the server makes them.
printf '%s\n' "$password" | "$relais_bin" --replica "$work/r.db" account add samia \
  --role counsellor >/dev/null
"$relais_bin" --replica "$work/r.db" add event title="Forum emploi" kind=job_fair \
  date=2026-12-03 >/dev/null
"$relais_bin" --replica "$work/r.db" --json serve --no-sync --web "$work/web" \
  >"$work/serve.out" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 300); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$work/serve.out")
[ -n "$url" ] || { echo "relais serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }

echo "# web app: $(du -sb "$work/web/assets" | cut -f1) bytes of assets (not compressed)"
RELAIS_BENCH_URL=$url RELAIS_BENCH_USER=samia RELAIS_BENCH_PASSWORD=$password \
  RELAIS_BENCH_RUNS=${2:-20} node "$root/tests/bench/first_screen.mjs"
