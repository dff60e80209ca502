#!/usr/bin/env bash
# A spreadsheet round trip with the `relais` program: export-csv of one
# replica, import-csv into another; the persons who objected to the purpose
# are not exported, the others arrive with the same values.
# usage: csv_round_trip_test.sh PATH_TO_RELAIS
set -euo pipefail

relais_bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
A=("$relais_bin" --replica "$work/a.db")
B=("$relais_bin" --replica "$work/b.db")

fail() { echo "FAIL: $*" >&2; exit 1; }

"${A[@]}" init --site lyon --user samia >/dev/null
"${B[@]}" init --site lyon --user karim >/dev/null
"${A[@]}" add person first_name=Inès last_name='Le Fèvre; dite "Nenette"' phone="06 12 34 56 78" \
  birth_date=2008-05-14 interests=catering,digital >/dev/null
"${A[@]}" add person first_name=Hugo last_name=Martin commune="Lyon, 8e" >/dev/null
"${A[@]}" add person first_name=Zoé last_name=Perrin objections=follow_up >/dev/null

out=$("${A[@]}" export-csv person "$work/persons.csv")
grep -q "wrote 2 person record(s) to .*; 1 left out (objection to 'follow_up'" <<<"$out" ||
  fail "export-csv said: $out"
[ "$(stat -c %a "$work/persons.csv")" = 600 ] || fail "the export is readable by others"
grep -q Perrin "$work/persons.csv" && fail "a person who objected was exported"

"${B[@]}" import-csv "$work/persons.csv" >/dev/null || fail "import-csv refused the export"

# The same persons with the same values: B's export is A's, ids aside.
"${B[@]}" export-csv person "$work/again.csv" >/dev/null
cut -d';' -f2- "$work/persons.csv" | sort >"$work/a.txt"
cut -d';' -f2- "$work/again.csv" | sort >"$work/b.txt"
diff -u "$work/a.txt" "$work/b.txt" >&2 || fail "the persons differ after the round trip"
[ "$(wc -l <"$work/a.txt")" -eq 3 ] || fail "the export does not hold a header and two persons"
echo "round trip: 2 persons exported and imported back, 1 left out"
