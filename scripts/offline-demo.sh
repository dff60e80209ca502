#!/usr/bin/env bash
# Two counsellors' laptops at a job fair with no network: each records young
# people offline, they edit the same person concurrently, and they converge by
# exchanging operation bundles on a USB stick. Exits non-zero if they do not.
# usage: offline-demo.sh PATH_TO_RELAIS [WORK_DIR]
set -euo pipefail

relais_bin=$1
if [ $# -ge 2 ]; then
  work=$2
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/usb"
A=(env RELAIS_REPLICA="$work/laptop-samia.db" "$relais_bin")
B=(env RELAIS_REPLICA="$work/laptop-karim.db" "$relais_bin")
step() { printf '\n\033[1m--- %s\033[0m\n' "$*"; }
say() { printf '    %s\n' "$*"; }

# Sends what one laptop has to the other through the USB stick: the first
# time everything, then only what the other lacks (--for its last bundle).
sync_pair() {
  "${A[@]}" export-ops "$work/usb/from-samia.ops" ${last_b:+--for "$last_b"} | sed 's/^/    samia: /'
  "${B[@]}" import-ops "$work/usb/from-samia.ops" | sed 's/^/    karim: /'
  "${B[@]}" export-ops "$work/usb/from-karim.ops" --for "$work/usb/from-samia.ops" | sed 's/^/    karim: /'
  "${A[@]}" import-ops "$work/usb/from-karim.ops" | sed 's/^/    samia: /'
  last_b="$work/usb/from-karim.ops"
}
last_b=

step "Two laptops, one site, no network"
"${A[@]}" init --site lyon-villeurbanne --user samia.cefi | sed 's/^/    /'
"${B[@]}" init --site lyon-villeurbanne --user karim.cefi | sed 's/^/    /'

step "Samia prepares the job fair and copies it to Karim's laptop"
event=$("${A[@]}" add event title="Forum emploi Villeurbanne" kind=job_fair date=2026-12-03 place="Palais du travail")
partner=$("${A[@]}" add partner name="Mission Locale de Villeurbanne" kind=mission_locale)
say "event $event, partner $partner"
sync_pair
cp "$work/usb/from-samia.ops" "$work/usb/first-from-samia.ops"

step "At the fair, offline, each records the young people they meet"
lina=$("${A[@]}" add person first_name=Lina last_name=Benali phone="06 12 34 56 78" \
  age_band=18_21 situation=neet interests=digital,retail channel=event met_at="$event")
"${A[@]}" add person first_name=Yanis last_name=Moreau email=yanis.m@example.org age_band=15_17 \
  situation=school_leaver channel=event met_at="$event" >/dev/null
# Lina agrees, once the notice is read to her, to be referred: no referral without it.
"${A[@]}" consent give "$lina" referral --method oral_at_event >/dev/null
"${A[@]}" add referral person="$lina" partner="$partner" stage=identified identified_on=2026-12-03 >/dev/null
"${B[@]}" add person first_name=Inès last_name=Roussel phone=0745678912 age_band=22_25 \
  situation=job_seeker interests=care channel=event met_at="$event" >/dev/null
"${B[@]}" add task title="Rappeler Inès" due_date=2026-12-10 owner=karim.cefi >/dev/null
say "Samia: $("${A[@]}" digest)"
say "Karim: $("${B[@]}" digest)"

step "Back at the site, they swap bundles on the USB stick"
sync_pair

step "Later, both edit Lina's phone (different numbers), and Karim her town"
"${A[@]}" edit person "$lina" phone=0611111111 >/dev/null
"${B[@]}" edit person "$lina" phone=0622222222 commune=Villeurbanne >/dev/null
sync_pair
say "both keep Karim's town, and both show the same phone and the same conflict:"
"${A[@]}" conflicts | sed 's/^/    samia: /'
"${B[@]}" conflicts | sed 's/^/    karim: /'

step "Samia checks with Lina and settles the conflict; the decision syncs"
"${A[@]}" settle "$lina" phone --value "06 11 11 11 11" | sed 's/^/    /'
sync_pair
"${B[@]}" show person "$lina" | sed 's/^/    karim: /'

step "Importing an old bundle again changes nothing"
"${B[@]}" import-ops "$work/usb/first-from-samia.ops" | sed 's/^/    karim: /'

step "Result"
da=$("${A[@]}" digest)
db=$("${B[@]}" digest)
say "Samia: $da"
say "Karim: $db"
open_a=$("${A[@]}" --json conflicts)
if [ "$da" = "$db" ] && [ "$open_a" = "[]" ]; then
  say "the two replicas converged, with no open conflict"
else
  say "the replicas differ" >&2
  exit 1
fi
