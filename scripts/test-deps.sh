#!/bin/sh
# What the tests need beyond npm, installed from Debian when missing (so `npm test` passes on a
# fresh Debian machine): chromium for the console's browser tests. Runs before `npm test`.
set -eu
need=""
[ -x "${MCTB_CHROMIUM:-/usr/bin/chromium}" ] || need="$need chromium"
[ -z "$need" ] && exit 0
echo "test-deps: installing from Debian:$need" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
