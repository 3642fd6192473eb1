#!/bin/sh
# What the tests need beyond npm, installed from Debian when missing (so `npm test` passes on a
# fresh Debian machine): chromium for the console's browser tests, and PostgreSQL's server
# binaries (initdb, pg_ctl) for the throwaway cluster the tests start on loopback
# (test/support/pg-cluster.ts looks in $MCTB_PG_BIN, else the newest /usr/lib/postgresql/*/bin
# that has them). Runs before `npm test`.
set -eu
need=""
[ -x "${MCTB_CHROMIUM:-/usr/bin/chromium}" ] || need="$need chromium"
pg_bin="${MCTB_PG_BIN:-}"
if [ -z "$pg_bin" ]; then
  # A client-only version (postgresql-client-NN) has a bin/ without initdb: skip it.
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then pg_bin="$d"; fi
  done
fi
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ] || [ ! -x "$pg_bin/pg_ctl" ]; then
  need="$need postgresql"
fi
[ -z "$need" ] && exit 0
echo "test-deps: installing from Debian:$need" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
