#!/bin/sh
# Checks the systemd unit: `systemd-analyze verify` must print nothing, and the exposure score of
# `systemd-analyze security --offline=true` must be at most MAX (default 1.5), for the unit alone
# and for the unit with the modem drop-in.
#
#   scripts/check-unit.sh [--max N] [UNIT [MODEM_DROPIN]]
#
# UNIT defaults to systemd/mctb.service and MODEM_DROPIN to systemd/mctb-modem.conf (give an
# installed unit, e.g. /etc/systemd/system/mctb.service, to check that one; pass "" as
# MODEM_DROPIN to skip the modem variant). Exit 0 when all is well, 1 when verify complains or a
# score is above MAX, 2 on a usage error or when systemd-analyze is missing.
#
# Each variant is checked from a copy in a temporary directory, because systemd-analyze reads
# drop-ins from `<unit>.d/` next to the file it is given: the copy keeps the plain unit and the
# unit-with-modem variant apart. In that copy, and only there, the ExecStart program is replaced
# when it does not exist on this machine (say node lives elsewhere than /usr/bin/node): verify
# reports a missing program ("Command ... is not executable"), which says nothing about the
# unit. Only the program (ExecStart's first word) is checked by verify; the script path after
# it (/opt/mctb/bin/mctb) is an argument and never looked at, so it need not be installed.
set -eu

max=1.5
while [ $# -gt 0 ]; do
  case $1 in
    --max) [ $# -ge 2 ] || { echo "check-unit: --max needs a value" >&2; exit 2; }; max=$2; shift 2 ;;
    --max=*) max=${1#--max=}; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) echo "check-unit: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done

here=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
unit=${1:-$here/systemd/mctb.service}
if [ $# -ge 2 ]; then modem=$2; else modem=$here/systemd/mctb-modem.conf; fi

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "check-unit: systemd-analyze not found (Debian: apt-get install systemd)" >&2
  exit 2
fi
[ -f "$unit" ] || { echo "check-unit: no such unit file: $unit" >&2; exit 2; }
[ -z "$modem" ] || [ -f "$modem" ] || { echo "check-unit: no such drop-in: $modem" >&2; exit 2; }

SYSTEMD_COLORS=0
SYSTEMD_PAGER='cat'
SYSTEMD_LOG_COLOR=0
export SYSTEMD_COLORS SYSTEMD_PAGER SYSTEMD_LOG_COLOR

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mctb-check-unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

name=$(basename "$unit")
failed=0

# check LABEL DROPIN: verify and score one variant.
check() {
  label=$1
  dropin=$2
  dir=$tmp/$label
  mkdir -p "$dir"
  cp "$unit" "$dir/$name"
  if [ -n "$dropin" ]; then
    mkdir -p "$dir/$name.d"
    cp "$dropin" "$dir/$name.d/$(basename "$dropin")"
  fi

  # ExecStart=[-@:+!]PROGRAM ARGS...: the program must exist for verify to be quiet.
  prog=$(sed -n 's/^ExecStart=[-@:+!]*\([^ ]*\).*/\1/p' "$dir/$name" | head -n 1)
  if [ -n "$prog" ] && [ ! -x "$prog" ]; then
    stand_in=/usr/bin/true
    [ -x "$stand_in" ] || stand_in=/bin/true
    echo "note: $prog (ExecStart) does not exist here; verifying a copy that runs $stand_in instead"
    sed "s|^\(ExecStart=[-@:+!]*\)$prog|\1$stand_in|" "$dir/$name" >"$dir/$name.new"
    mv "$dir/$name.new" "$dir/$name"
  fi

  echo "== $label: systemd-analyze verify"
  out=$(cd "$dir" && systemd-analyze verify "./$name" 2>&1) && rc=0 || rc=$?
  if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
    [ -z "$out" ] || printf '%s\n' "$out"
    echo "FAIL: systemd-analyze verify complained about $label (exit $rc)"
    failed=1
  else
    echo "ok: verify is clean"
  fi

  echo "== $label: systemd-analyze security --offline=true"
  out=$(cd "$dir" && systemd-analyze security --offline=true --no-pager "./$name" 2>&1) && rc=0 || rc=$?
  score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9]*\.[0-9]*\).*/\1/p' | head -n 1)
  if [ -z "$score" ]; then
    printf '%s\n' "$out"
    echo "FAIL: no exposure score for $label (exit $rc)"
    failed=1
    return
  fi
  # What is still exposed, for the record (✗ lines with their weight).
  printf '%s\n' "$out" | grep '✗' | sed 's/  */ /g; s/^/  /' || true
  if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s + 0 <= m + 0) }'; then
    echo "exposure $label: $score (max $max) ok"
  else
    echo "FAIL: exposure $label: $score is above $max"
    failed=1
  fi
}

check "$name" ""
[ -z "$modem" ] || check "$name+$(basename "$modem")" "$modem"

if [ "$failed" -ne 0 ]; then
  echo "check-unit: FAILED"
  exit 1
fi
echo "check-unit: ok"
