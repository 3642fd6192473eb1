#!/bin/sh
# Installs mctb as a systemd service (see "Install as a service" in README.md).
#
#   sudo scripts/install.sh [--no-build] [--modem] [--node PATH]
#
# Environment:
#   PREFIX   where the application goes (default /opt/mctb); the unit's ExecStart follows it
#   DESTDIR  install into this staging root instead of / (packaging, tests); nothing is then
#            run on the host: no systemd-sysusers, systemd-tmpfiles or systemctl
#   NODE     the node binary the service and the `mctb` command run (default: `command -v node`)
#   BINDIR   where the `mctb` command goes (default /usr/local/bin)
# Options:
#   --no-build  use the dist/ and node_modules/ already in this tree (fails if missing);
#               without it, `npm ci && npm run build` runs when dist/ is missing
#   --modem     also install the drop-in for sms.transport: modem (systemd/mctb-modem.conf)
#   --node PATH same as NODE=PATH
#
# What it writes (under DESTDIR):
#   $PREFIX/                              the application: package.json, package-lock.json, bin/,
#                                         dist/src/, production node_modules/, the demo's
#                                         captures and modem simulator, the example config,
#                                         dialplan/ and systemd/ for reference
#   $BINDIR/mctb                          the command (runs as the mctb user when started by root)
#   /etc/systemd/system/mctb.service      (+ mctb.service.d/modem.conf with --modem)
#   /etc/sysusers.d/mctb.conf, /etc/tmpfiles.d/mctb.conf
#   /etc/mctb/mctb.yaml                   from config/mctb.example.yaml, ONLY if it does not exist
#   /var/lib/mctb                         the ledger directory, mode 0750
# Running it again upgrades the application and the unit and keeps /etc/mctb and the ledger.
set -eu
umask 022

say() { printf '%s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }

build=1
modem=0
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0 ;;
    --modem) modem=1 ;;
    --node) [ $# -ge 2 ] || die "--node needs a path"; NODE=$2; shift ;;
    --node=*) NODE=${1#--node=} ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/opt/mctb}
BINDIR=${BINDIR:-/usr/local/bin}
PREFIX=${PREFIX%/}
BINDIR=${BINDIR%/}

# Paths end up unquoted in the unit's ExecStart= and in a shell wrapper: keep them plain.
check_path() {
  case $2 in
    /*) ;;
    *) die "$1 must be an absolute path: $2" ;;
  esac
  case $2 in
    *[!A-Za-z0-9._/+-]*) die "$1 may only contain letters, digits and . _ / + -: $2" ;;
  esac
}
check_path PREFIX "$PREFIX"
check_path BINDIR "$BINDIR"
case $PREFIX in
  /|/usr|/usr/local|/opt|/etc|/var|/var/lib|/home|/root) die "PREFIX must be a directory of its own, not $PREFIX" ;;
esac

src=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
if [ ! -f "$src/package.json" ] || [ ! -f "$src/systemd/mctb.service" ]; then
  die "run me from an mctb source tree ($src)"
fi

if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
  die "installing into / needs root (sudo $0), or set DESTDIR to stage the files elsewhere"
fi

# ---- the node binary -----------------------------------------------------------------------
if [ -z "${NODE:-}" ]; then
  NODE=$(command -v node 2>/dev/null || true)
  [ -n "$NODE" ] || die "node not found: install Node.js 20 (>= 20.17), or give --node PATH"
fi
case $NODE in
  /*) ;;
  *) die "--node must be an absolute path: $NODE" ;;
esac
case $NODE in
  *[!A-Za-z0-9._/+-]*) die "the node path may only contain letters, digits and . _ / + -: $NODE" ;;
  /home/*|/root/*|/run/user/*)
    say "warning: $NODE is under a home directory, which the service cannot see (ProtectHome=yes)."
    say "         Install Node.js system-wide (e.g. NodeSource's nodejs package: /usr/bin/node) or give --node." ;;
esac
if [ -x "$NODE" ]; then
  if ! "$NODE" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=17)?0:1)' 2>/dev/null; then
    say "warning: $NODE is $("$NODE" --version 2>/dev/null || echo 'not runnable'); mctb needs Node.js >= 20.17"
  fi
elif [ -z "$DESTDIR" ]; then
  die "$NODE is not executable"
fi

# ---- build -----------------------------------------------------------------------------------
if [ ! -f "$src/dist/src/cli/main.js" ] || [ ! -d "$src/node_modules" ]; then
  [ "$build" = 1 ] || die "dist/ or node_modules/ is missing: run \`npm ci && npm run build\`, or drop --no-build"
  command -v npm >/dev/null 2>&1 || die "npm not found (it comes with Node.js)"
  say "building: npm ci && npm run build"
  (cd "$src" && npm ci && npm run build)
fi

# ---- the application ---------------------------------------------------------------------------
app=$DESTDIR$PREFIX
marker=.mctb-install
if [ -d "$app" ] && [ ! -e "$app/$marker" ] && [ -n "$(ls -A "$app" 2>/dev/null)" ]; then
  die "$app exists, is not empty and was not made by this script: choose another PREFIX or empty it"
fi
say "installing the application into $app"
mkdir -p "$app"
: >"$app/$marker"
# Replace what an earlier install put there (files of an older version must not linger).
rm -rf "${app:?}/bin" "$app/dist" "$app/node_modules" "$app/test" "$app/src" "$app/tools" "$app/config" \
  "$app/dialplan" "$app/systemd" "$app/package.json" "$app/package-lock.json" "$app/README.md"

cp "$src/package.json" "$src/package-lock.json" "$src/README.md" "$app/"
mkdir -p "$app/bin" "$app/dist" "$app/src/demo" "$app/src/console" "$app/tools" "$app/config"
cp "$src/bin/mctb" "$app/bin/mctb"
chmod 0755 "$app/bin/mctb"
# Only the daemon's compiled sources: not dist/test or dist/bench (and no test/ at all).
cp -R "$src/dist/src" "$app/dist/src"
# `mctb demo` replays these captures (AMI and ARI, with their README), and `mctb demo
# --transport modem` runs the modem simulator (needs python3).
cp -R "$src/src/demo/captures" "$app/src/demo/captures"
# The web console's templates, script and style (read at run time; htmx comes from node_modules).
cp -R "$src/src/console/views" "$src/src/console/assets" "$app/src/console/"
cp "$src/tools/modem-sim.py" "$app/tools/"
cp "$src/config/mctb.example.yaml" "$app/config/"
cp -R "$src/dialplan" "$src/systemd" "$app/"
# Keep the copies removable by the next install, whatever the source tree's modes.
chmod -R u+w "$app/src" "$app/tools"

# node_modules as built here (the native sqlite3 and serialport modules included), then without
# the development packages. Both steps work offline.
cp -R "$src/node_modules" "$app/node_modules"
if command -v npm >/dev/null 2>&1; then
  (cd "$app" && npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund --no-update-notifier --loglevel=error) \
    || say "warning: npm prune failed; $app/node_modules keeps the development packages too"
else
  say "warning: npm not found; $app/node_modules keeps the development packages too"
fi

# ---- the command -----------------------------------------------------------------------------
bindir=$DESTDIR$BINDIR
mkdir -p "$bindir"
rm -f "$bindir/mctb"
cat >"$bindir/mctb" <<EOF
#!/bin/sh
# The mctb command, written by scripts/install.sh: runs $PREFIX/bin/mctb with the node the
# service uses. Started by root, it runs as the mctb user, like the service, so that whatever it
# creates in /var/lib/mctb (a new ledger, its -wal/-shm files) belongs to the service, and so
# that \`mctb config check\` and \`mctb doctor\` see the files as the service will.
# With the modem drop-in it also gets the service's SupplementaryGroups= (the serial port's
# group), for \`mctb doctor\` and \`mctb send-test\`.
# MCTB_AS_ROOT=1 keeps root (say, for \`mctb ledger backup\` into a directory mctb cannot write).
if [ "\$(id -u)" = 0 ] && [ -z "\${MCTB_AS_ROOT:-}" ] && id mctb >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1; then
  groups=\$(sed -n 's/^SupplementaryGroups=//p' /etc/systemd/system/mctb.service.d/*.conf 2>/dev/null | tr -s ' \\n' ',,' | sed 's/^,//; s/,\$//')
  if [ -n "\$groups" ]; then groups="--groups=\$groups"; else groups=--init-groups; fi
  exec setpriv --reuid=mctb --regid=mctb "\$groups" -- $NODE $PREFIX/bin/mctb "\$@"
fi
exec $NODE $PREFIX/bin/mctb "\$@"
EOF
chmod 0755 "$bindir/mctb"

# ---- systemd -----------------------------------------------------------------------------------
unitdir=$DESTDIR/etc/systemd/system
mkdir -p "$unitdir" "$DESTDIR/etc/sysusers.d" "$DESTDIR/etc/tmpfiles.d"
# The node flags between the two paths are kept.
sed "s|^ExecStart=/usr/bin/node \(.*\)/opt/mctb/bin/mctb |ExecStart=$NODE \1$PREFIX/bin/mctb |" \
  "$src/systemd/mctb.service" >"$unitdir/mctb.service.tmp"
grep -q "^ExecStart=$NODE .*$PREFIX/bin/mctb run " "$unitdir/mctb.service.tmp" \
  || die "could not set ExecStart in mctb.service (has its ExecStart line changed?)"
chmod 0644 "$unitdir/mctb.service.tmp"
mv "$unitdir/mctb.service.tmp" "$unitdir/mctb.service"
if [ "$modem" = 1 ]; then
  mkdir -p "$unitdir/mctb.service.d"
  cp "$src/systemd/mctb-modem.conf" "$unitdir/mctb.service.d/modem.conf"
  chmod 0644 "$unitdir/mctb.service.d/modem.conf"
fi
cp "$src/systemd/mctb.sysusers.conf" "$DESTDIR/etc/sysusers.d/mctb.conf"
cp "$src/systemd/mctb.tmpfiles.conf" "$DESTDIR/etc/tmpfiles.d/mctb.conf"
chmod 0644 "$DESTDIR/etc/sysusers.d/mctb.conf" "$DESTDIR/etc/tmpfiles.d/mctb.conf"

live=0
[ -n "$DESTDIR" ] || live=1
if [ "$live" = 1 ]; then
  # The mctb user and group first: the config file below is given to the group.
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers /etc/sysusers.d/mctb.conf
  else
    say "warning: systemd-sysusers not found; create a system user and group mctb yourself"
  fi
fi

# ---- config and ledger directory -------------------------------------------------------------
# The secret files the README tells admins to create (secret_file / password_file / pin_file).
SECRET_FILES="/etc/mctb/ami.secret /etc/mctb/ari.password /etc/mctb/smpp.password /etc/mctb/sim.pin /etc/mctb/webhook.secret /etc/mctb/console.key /etc/mctb/console.crt /etc/mctb/twilio.token /etc/mctb/telnyx.key /etc/mctb/voipms.password /etc/mctb/voipms.token /etc/mctb/ledger.password"
confdir=$DESTDIR/etc/mctb
mkdir -p "$confdir"
if [ -e "$confdir/mctb.yaml" ]; then
  config_note="kept the existing $confdir/mctb.yaml"
else
  (umask 027 && cp "$src/config/mctb.example.yaml" "$confdir/mctb.yaml")
  chmod 0640 "$confdir/mctb.yaml"
  config_note="wrote $confdir/mctb.yaml from the example"
fi
say "$config_note"
mkdir -p "$DESTDIR/var/lib/mctb"
chmod 0750 "$DESTDIR/var/lib/mctb"

if [ "$live" = 1 ]; then
  # Owners and modes: /var/lib/mctb mctb:mctb, the config and secret files root:mctb 0640.
  if command -v systemd-tmpfiles >/dev/null 2>&1; then
    systemd-tmpfiles --create /etc/tmpfiles.d/mctb.conf
  elif id mctb >/dev/null 2>&1; then
    chown mctb:mctb /var/lib/mctb
    # The config and every secret file the README names, where present (as mctb.tmpfiles.conf).
    for f in /etc/mctb/mctb.yaml $SECRET_FILES; do
      if [ -e "$f" ]; then chgrp mctb "$f"; chmod 0640 "$f"; fi
    done
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  else
    say "note: systemd is not running here; run \`systemctl daemon-reload\` where it is"
  fi
fi

# ---- next steps ------------------------------------------------------------------------------
cat <<EOF

mctb is installed in ${DESTDIR}${PREFIX}, the service unit in ${unitdir}/mctb.service.
Next:
  1. Edit /etc/mctb/mctb.yaml: the PBX (asterisk.ami or asterisk.ari), the SMS gateway
     (sms.smpp, or sms.modem with \`scripts/install.sh --modem\`) and your businesses.
     Secrets in files: root:mctb, mode 0640: /etc/mctb/ami.secret, ari.password,
     smpp.password, sim.pin, webhook.secret, console.key and .crt, the carriers' token, key and passwords (systemd-tmpfiles sets these modes).
     The Asterisk side: $PREFIX/dialplan/README.md
  2. mctb config check -c /etc/mctb/mctb.yaml
  3. mctb doctor -c /etc/mctb/mctb.yaml
  4. systemctl enable --now mctb      (logs: journalctl -u mctb -f)
EOF
if [ "$live" = 1 ] && [ -d /run/systemd/system ] && systemctl is-active --quiet mctb 2>/dev/null; then
  say "mctb is running the previous version: systemctl restart mctb"
fi
