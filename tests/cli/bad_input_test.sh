#!/usr/bin/env bash
# Runs the `relais` program on bad input: each case must exit with the
# documented code, print a message naming the problem, and leave the replica
# exactly as it was (same digest, same op log).
# usage: bad_input_test.sh PATH_TO_RELAIS
set -uo pipefail

relais_bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RELAIS_REPLICA="$work/site.db"
passed=0
failed=0

state() { "$relais_bin" digest && "$relais_bin" --json log --limit 1000; }

# expect CODE PATTERN -- ARGS...: runs relais ARGS, checks the exit code, that
# stderr matches PATTERN, and that the replica did not change.
expect() {
  local code=$1 pattern=$2
  shift 3
  local before after err rc
  before=$(state)
  err=$("$relais_bin" "$@" 2>&1 >/dev/null)
  rc=$?
  after=$(state)
  if [ "$rc" -eq "$code" ] && grep -qE -- "$pattern" <<<"$err" && [ "$before" = "$after" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: relais $* -> exit $rc (want $code), stderr: $err" >&2
    [ "$before" = "$after" ] || echo "      and the replica changed" >&2
  fi
}

"$relais_bin" init --site lyon --user cefi.test >/dev/null || exit 1
person=$("$relais_bin" add person first_name=Lina last_name=Benali) || exit 1
"$relais_bin" export-ops "$work/good.ops" >/dev/null || exit 1

expect 3 "unknown entity 'persn'" -- add persn first_name=A
expect 3 "unknown field 'age' for person" -- add person first_name=A last_name=B age=3
expect 3 "person.situation: 'retired' is not allowed" -- add person first_name=A last_name=B situation=retired
expect 3 "person.last_name is required" -- add person first_name=A
expect 3 "birth_date: '2007-02-30' is not a date" -- add person first_name=A last_name=B birth_date=2007-02-30
expect 3 "task.done expects true or false" -- add task title=T due_date=2026-12-01 owner=x done=maybe
expect 3 "person.first_name is required" -- edit person "$person" first_name=
expect 3 "limited to 280 characters" -- add interaction person="$person" date=2026-12-01 channel=sms note="$(printf 'x%.0s' {1..300})"
expect 4 "no event with id" -- add person first_name=A last_name=B met_at=01a23cbd-02c1-763f-9432-c41314acf8d9
expect 4 "no person with id" -- show person 01a23cbd-02c1-763f-9432-c41314acf8d9
expect 4 "no open conflict" -- settle "$person" phone --pick 1
expect 2 "expected field=value" -- add person first_name
expect 2 "unknown option --frob" -- list person --frob 1
expect 2 "unknown command" -- frobnicate
expect 2 "--limit expects a number" -- list person --limit 10abc
expect 2 "--min-score takes a number from 0 to 1" -- duplicates --min-score 1.5
expect 2 "written by this replica" -- export-ops "$work/out.ops" --for "$work/good.ops"

head -c 200 "$work/good.ops" >"$work/cut.ops"
head -n 1 "$work/good.ops" >"$work/no-end.ops"
sed 's/"schema_version":[0-9]*/"schema_version":99/' "$work/good.ops" >"$work/newer.ops"
sed 's/Benali/Benalj/' "$work/good.ops" >"$work/altered.ops"
sed '2s/.*/{"origin": oops/' "$work/good.ops" >"$work/malformed.ops"
sed '2s/"first_name"/"first_nam"/' "$work/good.ops" >"$work/bad-field.ops"
echo 'hello' >"$work/not-a-bundle.ops"
expect 5 "cut short" -- import-ops "$work/cut.ops"
expect 5 "without its closing line" -- import-ops "$work/no-end.ops"
expect 6 "schema version 99" -- import-ops "$work/newer.ops"
expect 5 "altered or damaged" -- import-ops "$work/altered.ops"
expect 5 "line 2: not valid JSON" -- import-ops "$work/malformed.ops"
expect 3 "line 2: unknown field 'first_nam'" -- import-ops "$work/bad-field.ops"
expect 5 "not a Relais operation bundle" -- import-ops "$work/not-a-bundle.ops"
expect 1 "cannot read" -- import-ops "$work/missing.ops"
expect 1 "not a file" -- import-ops "$work"

# Consent: every refusal names the problem and records nothing.
nobody=01a23cbd-02c1-763f-9432-c41314acf8d9
expect 3 "no new referral for person .*no consent to 'referral'" -- add referral person="$person" stage=identified
expect 3 "unknown purpose 'marketing'" -- consent give "$person" marketing --method oral_at_event
expect 3 "'follow_up' is not based on consent" -- consent give "$person" follow_up --method oral_at_event
expect 3 "unknown purpose 'marketing'" -- consent notice marketing
expect 2 "--method is required" -- consent give "$person" referral
expect 3 "consent.method: 'telepathy' is not allowed" -- consent give "$person" referral --method telepathy
expect 3 "no notice version 9" -- consent give "$person" referral --method paper_form --notice-version 9
expect 2 "--notice-version expects a version number" -- consent give "$person" referral --method paper_form --notice-version 1x
expect 3 "notice language 'de' is not available" -- consent give "$person" referral --method online --language de
expect 3 "both a name and a relation" -- consent give "$person" referral --method online --guardian "Karima Benali"
expect 3 "guardian_relation: 'uncle' is not allowed" -- consent give "$person" referral --method online --guardian "Karim B" --guardian-relation uncle
expect 4 "no person with id" -- consent give "$nobody" referral --method online
expect 4 "no person with id" -- consent show "$nobody"
expect 3 "nothing to withdraw" -- consent withdraw "$person" referral --method online
expect 2 "unknown consent command 'grant'" -- consent grant "$person" referral
expect 2 "--guardian does not apply to consent withdraw" -- consent withdraw "$person" referral --method online --guardian X
expect 2 "usage: relais consent show PERSON" -- consent show "$person" referral
expect 2 "recorded by giving or withdrawing it" -- add consent person="$person" purpose=referral status=given method=online captured_at=2026-12-03T10:00:00Z
consent=$("$relais_bin" consent give "$person" referral --method oral_at_event) || exit 1
expect 3 "consent records are append-only" -- edit consent "$consent" status=withdrawn
expect 3 "consent records are append-only" -- delete consent "$consent"
"$relais_bin" consent withdraw "$person" referral --method paper_form >/dev/null || exit 1
expect 3 "no new referral for person .*was withdrawn" -- add referral person="$person" stage=identified

# Spreadsheets: nothing is imported from a file with a problem.
printf 'Prénom;Nom\n"Hugo;Martin\n' >"$work/open-quote.csv"
printf 'Prénom;Ville\nHugo;Lyon\n' >"$work/no-name.csv"
printf 'Prénom;Nom;Date de naissance\nHugo;Martin;2008-01-01\nZoé;Perrin;30/02/2007\n' >"$work/bad-date.csv"
printf 'Nom\nB\x81nard\n' >"$work/not-1252.csv"
expect 5 "line 2: a quote opened here is never closed" -- import-csv "$work/open-quote.csv"
expect 3 "no column for person.last_name" -- import-csv "$work/no-name.csv"
expect 3 "1 line\(s\) have problems: nothing imported" -- import-csv "$work/bad-date.csv"
expect 5 "byte 0x81 is not a character in Windows-1252" -- import-csv "$work/not-1252.csv"
expect 2 "--separator is ';' or ','" -- import-csv "$work/bad-date.csv" --separator tab
expect 1 "cannot read .*nowhere.csv.: not a file" -- import-csv "$work/nowhere.csv"

# A bundle replayed is a no-op: exit 0, nothing applied, state unchanged.
before=$(state)
out=$("$relais_bin" import-ops "$work/good.ops")
if [ $? -eq 0 ] && grep -q "applied 0 change" <<<"$out" && [ "$before" = "$(state)" ]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL: replaying a bundle changed the replica: $out" >&2
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
