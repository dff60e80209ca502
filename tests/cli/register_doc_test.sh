#!/usr/bin/env bash
# Checks that docs/register.md is what `relais schema --register` prints for
# the model this program was built with: the committed register must follow
# every change to the model.
# usage: register_doc_test.sh PATH_TO_RELAIS PATH_TO_REGISTER_MD
set -uo pipefail

relais_bin=$1
committed=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# No replica is needed: point at one that does not exist, to prove it.
if ! RELAIS_REPLICA="$work/none.db" "$relais_bin" schema --register >"$work/register.md"; then
  echo "FAIL: relais schema --register failed" >&2
  exit 1
fi
if [ -e "$work/none.db" ]; then
  echo "FAIL: relais schema --register created a replica file" >&2
  exit 1
fi
if ! diff -u "$committed" "$work/register.md"; then
  echo >&2
  echo "FAIL: docs/register.md is out of date with the model. Refresh it with:" >&2
  echo "  '$relais_bin' schema --register > '$committed'" >&2
  exit 1
fi
echo "docs/register.md is up to date"
