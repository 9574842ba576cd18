#!/usr/bin/env bash
# punchgate-install: makes a Raspberry Pi (Raspberry Pi OS Lite 64-bit, Debian 12 "bookworm",
# arm64) a punchgate gateway, and enrols it with the bundle the dashboard made for it.
#
#   sudo ./punchgate-VERSION/provisioning/pi/install.sh            # first install, from an unpacked release
#   sudo punchgate-install --bundle punchgate-enrol-ID.tar.gz      # enrol (or re-enrol) this Pi
#   sudo punchgate-install --release punchgate-VERSION.tar.gz      # update to another release
#   punchgate-install --dry-run ...                                # print every step, change nothing
#
# Every step is idempotent: running it again repairs what is missing and changes nothing else.
# The layout (docs/deploy-pi.md; the same paths as provisioning/pi/units.ts):
#   /opt/punchgate/releases/VERSION  the software, read-only; /opt/punchgate/current -> the active one
#   /usr/local/bin/punchgate         runs the active release with the system's Node.js
#   /etc/punchgate                   gateway.json, secret, ca.pem (from the enrolment bundle)
#   /var/lib/punchgate               the gateway's data (SQLite): the only place it writes
set -euo pipefail

readonly SERVICE_USER=punchgate
readonly KIOSK_USER=punchgate-kiosk
readonly CONFIG_DIR=/etc/punchgate
readonly DATA_DIR=/var/lib/punchgate
readonly INSTALL_ROOT=/opt/punchgate
readonly EXECUTABLE=/usr/local/bin/punchgate
readonly INSTALLER_LINK=/usr/local/sbin/punchgate-install
readonly UNIT_DIR=/etc/systemd/system
readonly PAM_DIR=/etc/pam.d
readonly UDEV_RULES=/etc/udev/rules.d/70-punchgate-readers.rules
readonly JOURNALD_CONF=/etc/systemd/journald.conf.d/punchgate.conf
readonly GATEWAY_UNIT=punchgate-gateway.service
readonly KIOSK_UNIT=punchgate-kiosk.service
readonly BLUETOOTH_UNIT=punchgate-bluetooth@.service
# package.json's engines; NodeSource's line when Node.js has to be installed (docs/deploy-pi.md).
readonly MIN_NODE_VERSION=20.19.0
readonly DEFAULT_NODE_MAJOR=22
readonly NODESOURCE_KEY_URL=https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key
readonly NODESOURCE_KEYRING=/etc/apt/keyrings/nodesource.gpg
readonly NODESOURCE_LIST=/etc/apt/sources.list.d/nodesource.list
readonly NODESOURCE_PIN=/etc/apt/preferences.d/nodesource
# What the gateway's native modules (sqlite3, serialport, the Bluetooth HCI socket, unix-dgram)
# need to build when no prebuilt binary fits, what BLE needs, and what fetches Node.js.
readonly BASE_PACKAGES=(bluez rfkill ca-certificates curl gnupg python3 build-essential)
# The kiosk: the cage Wayland compositor and Chromium (Raspberry Pi OS names it chromium since late
# 2024, chromium-browser before).
readonly KIOSK_PACKAGES=(cage)

usage() {
  cat <<'EOF'
usage: punchgate-install [options]

Installs punchgate on a Raspberry Pi (Raspberry Pi OS bookworm, arm64) and, with --bundle,
enrols it as the gateway the bundle was made for. Run as root (sudo). docs/deploy-pi.md.

options:
  --bundle FILE        the enrolment bundle (punchgate-enrol-ID.tar.gz) from the dashboard
  --release PATH       install this release (a punchgate-VERSION.tar.gz or an unpacked folder)
                       instead of the one this script belongs to
  --no-kiosk           no display: skip Chromium and the kiosk screen (and turn it off)
  --keep-bluetoothd    leave BlueZ's bluetoothd running (then the rotating beacon cannot advertise)
  --adapter hciN       the Bluetooth adapter the gateway uses (default hci0)
  --node-major N       install Node.js N from NodeSource even if an older one is present
  --dry-run            print every step, change nothing (needs no root)
  -h, --help           this text
EOF
}

DRY_RUN=0
BUNDLE=
RELEASE=
KIOSK=1
KEEP_BLUETOOTHD=0
ADAPTER=hci0
NODE_MAJOR=
ORIGINAL_ARGS=("$@")

die() {
  printf 'punchgate-install: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'punchgate-install: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) [ $# -ge 2 ] || usage_error "--bundle needs a file"; BUNDLE=$2; shift 2 ;;
    --release) [ $# -ge 2 ] || usage_error "--release needs a file or folder"; RELEASE=$2; shift 2 ;;
    --no-kiosk) KIOSK=0; shift ;;
    --keep-bluetoothd) KEEP_BLUETOOTHD=1; shift ;;
    --adapter) [ $# -ge 2 ] || usage_error "--adapter needs a name like hci0"; ADAPTER=$2; shift 2 ;;
    --node-major) [ $# -ge 2 ] || usage_error "--node-major needs a number"; NODE_MAJOR=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown option: $1" ;;
  esac
done
[[ $ADAPTER =~ ^hci[0-9]+$ ]] || usage_error "--adapter must be like hci0, not $ADAPTER"
[ -z "$NODE_MAJOR" ] || [[ $NODE_MAJOR =~ ^[0-9]+$ && $NODE_MAJOR -ge 20 ]] || usage_error "--node-major must be 20 or newer, not $NODE_MAJOR"

# ---------------------------------------------------------------------------------------------
# Printing and doing. Every change goes through run, write_file or copy_tree: printed as it would
# be typed, and skipped in a dry run. Reading the system (versions, users, files) always happens.

STEP=0
step() {
  STEP=$((STEP + 1))
  printf '\n== %d. %s\n' "$STEP" "$*"
}
note() {
  printf '   %s\n' "$*"
}
warn() {
  printf '   warning: %s\n' "$*" >&2
}
run() {
  local line
  printf -v line '%q ' "$@"
  printf '+ %s\n' "${line% }"
  if [ "$DRY_RUN" -eq 0 ]; then
    "$@"
  fi
}
# write_file PATH MODE OWNER:GROUP, content on standard input (shown in a dry run).
write_file() {
  local path=$1 mode=$2 owner=$3 content
  content=$(cat)
  printf '+ write %s (mode %s, %s)\n' "$path" "$mode" "$owner"
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '%s\n' "$content" | sed 's/^/    | /'
    return 0
  fi
  local temporary
  temporary=$(mktemp "$path.XXXXXX")
  printf '%s\n' "$content" >"$temporary"
  chmod "$mode" "$temporary"
  chown "$owner" "$temporary"
  mv -f "$temporary" "$path"
}
# copy_tree FROM TO: the release's files, without node_modules or .git (rebuilt for this Pi).
copy_tree() {
  printf '+ tar -C %q --exclude=./node_modules --exclude=./.git -cf - . | tar -C %q -xf -\n' "$1" "$2"
  if [ "$DRY_RUN" -eq 0 ]; then
    tar -C "$1" --exclude=./node_modules --exclude=./.git -cf - . | tar -C "$2" -xf -
  fi
}
# in_dir DIR COMMAND...: a command run in a folder (npm).
in_dir() {
  local dir=$1 line
  shift
  printf -v line '%q ' "$@"
  printf '+ (cd %q && %s)\n' "$dir" "${line% }"
  if [ "$DRY_RUN" -eq 0 ]; then
    (cd "$dir" && "$@")
  fi
}

# apt-cache without rebuilding its cache files: a dry run reads, it never writes.
apt_candidate() {
  apt-cache -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | sed -n 1p
}
has_candidate() {
  local candidate
  candidate=$(apt_candidate "$1")
  [ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}
version_at_least() { # version_at_least HAVE WANT (dotted numbers)
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | sed -n 1p)" = "$2" ]
}
package_version() { # the "version" of a punchgate package.json
  sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$1" | sed -n 1p
}
is_punchgate_tree() {
  [ -f "$1/package.json" ] && grep -q '^  "name": *"punchgate"' "$1/package.json" && [ -f "$1/provisioning/pi/install.sh" ]
}

SELF_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
SOURCE=$(cd "$SELF_DIR/../.." && pwd)

# ---------------------------------------------------------------------------------------------
step "check this machine"
if [ "$(id -u)" -ne 0 ] && [ "$DRY_RUN" -eq 0 ]; then
  die "run as root: sudo $0 ${ORIGINAL_ARGS[*]} (or add --dry-run to see the steps)"
fi
[ "$DRY_RUN" -eq 0 ] || note "dry run: nothing is changed; each step shows what it would do"
OS_NAME=unknown
OS_VERSION=0
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091 # the machine's own file
  OS_NAME=$(. /etc/os-release && printf '%s' "${PRETTY_NAME:-$ID}")
  # shellcheck disable=SC1091
  OS_VERSION=$(. /etc/os-release && printf '%s' "${VERSION_ID:-0}")
fi
note "system: $OS_NAME, $(uname -m)"
command -v apt-get >/dev/null 2>&1 || die "this installer needs a Debian-based system (Raspberry Pi OS); apt-get is missing"
if ! [[ ${OS_VERSION%%.*} =~ ^[0-9]+$ ]] || [ "${OS_VERSION%%.*}" -lt 12 ]; then
  warn "made for Raspberry Pi OS / Debian 12 (bookworm) or newer; this is $OS_NAME"
fi
if [ "$(uname -m)" != aarch64 ]; then
  warn "made for 64-bit Raspberry Pi OS (aarch64); this machine is $(uname -m)"
fi
if [ ! -d /run/systemd/system ]; then
  [ "$DRY_RUN" -eq 1 ] || die "systemd is not running here: the gateway runs as a systemd service"
  warn "systemd is not running here (a container?): the service steps could not run for real"
fi
if [ -n "$BUNDLE" ]; then
  [ -f "$BUNDLE" ] || die "no such bundle: $BUNDLE"
  BUNDLE=$(readlink -f "$BUNDLE")
fi

# ---------------------------------------------------------------------------------------------
# Another release given: unpack it beside the others and let its own installer carry on, so that
# the steps are always those of the software being installed.
if [ -n "$RELEASE" ]; then
  [ -e "$RELEASE" ] || die "no such release: $RELEASE"
  RELEASE=$(readlink -f "$RELEASE")
  HANDOFF_ARGS=()
  set -- "${ORIGINAL_ARGS[@]}"
  while [ $# -gt 0 ]; do
    case "$1" in
      --release) shift 2 ;;
      --bundle) HANDOFF_ARGS+=(--bundle "$BUNDLE"); shift 2 ;;
      *) HANDOFF_ARGS+=("$1"); shift ;;
    esac
  done
  if [ -d "$RELEASE" ]; then
    is_punchgate_tree "$RELEASE" || die "$RELEASE is not a punchgate release (no package.json named punchgate with provisioning/pi/install.sh)"
    if [ "$RELEASE" != "$SOURCE" ]; then
      step "hand over to the installer of $RELEASE"
      run exec bash "$RELEASE/provisioning/pi/install.sh" "${HANDOFF_ARGS[@]}"
      [ "$DRY_RUN" -eq 1 ] && note "(a dry run carries on with this installer's steps)"
    fi
  else
    step "unpack the release $RELEASE"
    # One folder punchgate-VERSION/ of plain files and folders, nothing that climbs out of it.
    # Listed once into variables: under pipefail, `tar | grep -q` fails when grep stops early.
    listing=$(tar -tzf "$RELEASE") || die "$RELEASE is not a .tar.gz"
    long_listing=$(tar -tvzf "$RELEASE")
    top=$(sed -n '1s#/.*##p' <<<"$listing")
    [[ $top =~ ^punchgate-[0-9][0-9A-Za-z.+-]*$ ]] || die "$RELEASE is not a punchgate release archive (its first entry is not punchgate-VERSION/)"
    grep -qx "$top/provisioning/pi/install.sh" <<<"$listing" || die "$RELEASE is not a punchgate release archive (no provisioning/pi/install.sh)"
    if [ -n "$(grep -Ev "^${top//./\\.}(/|\$)" <<<"$listing" || true)" ] || grep -Eq '(^|/)\.\.(/|$)' <<<"$listing"; then
      die "$RELEASE holds paths outside $top/: refused"
    fi
    if grep -Evq '^[-d]' <<<"$long_listing"; then
      die "$RELEASE holds links or devices: refused"
    fi
    unpack_dir="$INSTALL_ROOT/releases/.unpack-$$"
    run install -d -m 0755 "$INSTALL_ROOT/releases" "$unpack_dir"
    run tar -xzf "$RELEASE" -C "$unpack_dir" --no-same-owner
    run exec bash "$unpack_dir/$top/provisioning/pi/install.sh" "${HANDOFF_ARGS[@]}"
    note "(a dry run carries on with this installer's steps)"
  fi
fi
is_punchgate_tree "$SOURCE" || die "$SOURCE is not a punchgate release: run the install.sh of an unpacked release, or give --release"
VERSION=$(package_version "$SOURCE/package.json")
[[ $VERSION =~ ^[0-9A-Za-z.+-]+$ ]] || die "cannot read the version in $SOURCE/package.json"
RELEASE_DIR="$INSTALL_ROOT/releases/$VERSION"
note "installing punchgate $VERSION from $SOURCE"

# ---------------------------------------------------------------------------------------------
kiosk_title=
[ "$KIOSK" -eq 0 ] || kiosk_title=", cage and Chromium for the kiosk"
step "system packages (BlueZ, build tools for the native modules$kiosk_title)"
run apt-get update
packages=("${BASE_PACKAGES[@]}")
if [ "$KIOSK" -eq 1 ]; then
  packages+=("${KIOSK_PACKAGES[@]}")
  if has_candidate chromium; then
    packages+=(chromium)
  elif has_candidate chromium-browser; then
    packages+=(chromium-browser)
  else
    packages+=(chromium)
    warn "apt knows neither chromium nor chromium-browser yet; trying chromium"
  fi
fi
run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"

# ---------------------------------------------------------------------------------------------
step "Node.js $MIN_NODE_VERSION or newer"
NODE=$(command -v node || true)
have_node=
if [ -n "$NODE" ]; then
  have_node=$("$NODE" --version 2>/dev/null | sed 's/^v//' || true)
fi
want_major=
if [ -n "$NODE_MAJOR" ]; then
  if [ -z "$have_node" ] || [ "${have_node%%.*}" -lt "$NODE_MAJOR" ]; then want_major=$NODE_MAJOR; fi
elif [ -z "$have_node" ] || ! version_at_least "$have_node" "$MIN_NODE_VERSION"; then
  want_major=$DEFAULT_NODE_MAJOR
fi
if [ -z "$want_major" ]; then
  note "keeping Node.js v$have_node ($NODE)"
else
  note "Node.js ${have_node:+v$have_node is too old; }installing Node.js $want_major from NodeSource (Debian 12 has 18)"
  run install -d -m 0755 /etc/apt/keyrings
  printf '+ curl -fsSL %s | gpg --dearmor --yes -o %s\n' "$NODESOURCE_KEY_URL" "$NODESOURCE_KEYRING"
  if [ "$DRY_RUN" -eq 0 ]; then
    curl -fsSL "$NODESOURCE_KEY_URL" | gpg --dearmor --yes -o "$NODESOURCE_KEYRING"
    chmod 0644 "$NODESOURCE_KEYRING"
  fi
  write_file "$NODESOURCE_LIST" 0644 root:root <<EOF
deb [signed-by=$NODESOURCE_KEYRING] https://deb.nodesource.com/node_$want_major.x nodistro main
EOF
  # NodeSource's nodejs wins over the distribution's (18), whatever their version numbers say.
  write_file "$NODESOURCE_PIN" 0644 root:root <<'EOF'
Package: nodejs
Pin: origin deb.nodesource.com
Pin-Priority: 600
EOF
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs
  NODE=/usr/bin/node
fi
[ -n "$NODE" ] || NODE=/usr/bin/node

# ---------------------------------------------------------------------------------------------
step "punchgate $VERSION in $RELEASE_DIR"
staging="$RELEASE_DIR.new"
if [ "$SOURCE" = "$RELEASE_DIR" ]; then
  note "already in place: this installer runs from it"
else
  if [ "$SOURCE" != "$staging" ]; then
    run rm -rf "$staging"
    run install -d -m 0755 "$staging"
    copy_tree "$SOURCE" "$staging"
  fi
  # The release's dependencies, built for this Pi (exact versions from package-lock.json).
  if [ -f "$SOURCE/dist/bin/punchgate.js" ]; then
    # A release carries dist/ already: no TypeScript, no build here (and no "prepare" build).
    in_dir "$staging" npm pkg delete scripts.prepare
    in_dir "$staging" npm ci --omit=dev --no-audit --no-fund
  else
    # A git checkout: build it, then drop the build tools.
    in_dir "$staging" npm ci --no-audit --no-fund
    in_dir "$staging" npm run build
    in_dir "$staging" npm prune --omit=dev --no-audit --no-fund
  fi
  if [ -e "$RELEASE_DIR" ]; then
    run rm -rf "$RELEASE_DIR.old"
    run mv -T "$RELEASE_DIR" "$RELEASE_DIR.old"
  fi
  run mv -T "$staging" "$RELEASE_DIR"
  run rm -rf "$RELEASE_DIR.old"
  if [[ $SOURCE == "$INSTALL_ROOT"/releases/.unpack-* ]]; then
    run rm -rf "$(dirname "$SOURCE")"
  fi
fi
previous=$(readlink "$INSTALL_ROOT/current" 2>/dev/null | sed 's#^releases/##' || true)
# Switched in one rename: a gateway restarting now finds either the old release or the new one.
run ln -sfn "releases/$VERSION" "$INSTALL_ROOT/current.new"
run mv -T "$INSTALL_ROOT/current.new" "$INSTALL_ROOT/current"
write_file "$EXECUTABLE" 0755 root:root <<EOF
#!/bin/sh
# punchgate (written by punchgate-install): the active release with this system's Node.js.
exec $NODE $INSTALL_ROOT/current/dist/bin/punchgate.js "\$@"
EOF
run install -d -m 0755 "$(dirname "$INSTALLER_LINK")"
run ln -sfn "$INSTALL_ROOT/current/provisioning/pi/install.sh" "$INSTALLER_LINK"
# Keep the release that ran before for a rollback (docs/deploy-pi.md), remove older ones.
if [ -d "$INSTALL_ROOT/releases" ]; then
  mapfile -t other_releases < <(find "$INSTALL_ROOT/releases" -mindepth 1 -maxdepth 1 -type d ! -name '.*' ! -name '*.new' ! -name '*.old' ! -name "$VERSION" -printf '%T@ %f\n' | sort -rn | cut -d' ' -f2-)
  # The one that was current; on a reinstall of the same version, the newest other one.
  if [ -z "$previous" ] || [ "$previous" = "$VERSION" ]; then previous=${other_releases[0]:-}; fi
  for release in "${other_releases[@]}"; do
    if [ "$release" != "$previous" ]; then run rm -rf "$INSTALL_ROOT/releases/$release"; fi
  done
  [ -z "$previous" ] || note "kept $INSTALL_ROOT/releases/$previous for a rollback"
fi

# ---------------------------------------------------------------------------------------------
step "accounts and folders"
if id -u "$SERVICE_USER" >/dev/null 2>&1; then
  note "user $SERVICE_USER exists"
else
  run useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
# The unit gives dialout too (SupplementaryGroups=); here for `sudo -u punchgate` checks by hand.
run usermod -a -G dialout "$SERVICE_USER"
if [ "$KIOSK" -eq 1 ]; then
  if id -u "$KIOSK_USER" >/dev/null 2>&1; then
    note "user $KIOSK_USER exists"
  else
    run useradd --system --user-group --home-dir "/run/$KIOSK_USER" --no-create-home --shell /usr/sbin/nologin "$KIOSK_USER"
  fi
  for group in video render input; do
    if getent group "$group" >/dev/null 2>&1 || [ "$DRY_RUN" -eq 1 ]; then run usermod -a -G "$group" "$KIOSK_USER"; fi
  done
fi
run install -d -m 0750 -o root -g "$SERVICE_USER" "$CONFIG_DIR"
run install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"

# ---------------------------------------------------------------------------------------------
step "badge readers: udev rules for stable names and the dialout group"
run install -m 0644 "$SOURCE/provisioning/pi/70-punchgate-readers.rules" "$UDEV_RULES"
run udevadm control --reload-rules
run udevadm trigger --subsystem-match=tty --action=add

# ---------------------------------------------------------------------------------------------
step "journald: the gateway's logs, kept small"
run install -d -m 0755 "$(dirname "$JOURNALD_CONF")"
run install -m 0644 "$SOURCE/provisioning/pi/journald-punchgate.conf" "$JOURNALD_CONF"
run systemctl restart systemd-journald.service

# ---------------------------------------------------------------------------------------------
if [ -n "$BUNDLE" ]; then
  step "enrolment bundle $BUNDLE into $CONFIG_DIR"
  # One folder punchgate-enrol-ID/ of plain files with plain names (as provisioning/device-bundle.ts
  # makes it), holding at least gateway.json and secret: nothing that could write elsewhere.
  entries=$(tar -tzf "$BUNDLE") || die "$BUNDLE is not a .tar.gz"
  top=$(printf '%s\n' "$entries" | sed -n '1s#/.*##p')
  [[ $top =~ ^punchgate-enrol-[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "$BUNDLE is not an enrolment bundle (its folder is not punchgate-enrol-ID/)"
  while IFS= read -r entry; do
    [[ $entry =~ ^$top/([A-Za-z0-9][A-Za-z0-9._-]*)?$ ]] || die "$BUNDLE holds an unexpected path \"$entry\": refused"
  done <<<"$entries"
  long_listing=$(tar -tvzf "$BUNDLE")
  if grep -Evq '^[-d]' <<<"$long_listing"; then die "$BUNDLE holds links or devices: refused"; fi
  for required in gateway.json secret; do
    grep -qx "$top/$required" <<<"$entries" || die "$BUNDLE has no $required"
  done
  files=$(printf '%s\n' "$entries" | sed -n "s#^$top/\(.\)#\1#p" | paste -sd ' ' -)
  note "device ${top#punchgate-enrol-}: $files"
  if [ "$DRY_RUN" -eq 1 ]; then
    stage=/run/punchgate-enrol.XXXXXX
    printf '+ mktemp -d %s\n' "$stage"
  else
    stage=$(mktemp -d /run/punchgate-enrol.XXXXXX)
  fi
  run tar -xzf "$BUNDLE" -C "$stage" --strip-components=1 --no-same-owner
  if [ -f "$CONFIG_DIR/gateway.json" ]; then
    # Re-enrolment of a Pi with readers configured: keep them, and a copy of the old config.
    run cp -p "$CONFIG_DIR/gateway.json" "$CONFIG_DIR/gateway.json.$(date +%Y%m%d-%H%M%S).bak"
    run "$NODE" "$RELEASE_DIR/dist/provisioning/pi/enrol-config.js" "$stage/gateway.json" "$CONFIG_DIR/gateway.json"
  fi
  run install -m 0644 -o root -g "$SERVICE_USER" "$stage/gateway.json" "$CONFIG_DIR/gateway.json"
  # The device's MQTT password: readable by the gateway's account alone.
  run install -m 0600 -o "$SERVICE_USER" -g "$SERVICE_USER" "$stage/secret" "$CONFIG_DIR/secret"
  if grep -qx "$top/ca.pem" <<<"$entries"; then run install -m 0644 -o root -g "$SERVICE_USER" "$stage/ca.pem" "$CONFIG_DIR/ca.pem"; fi
  if grep -qx "$top/README.md" <<<"$entries"; then run install -m 0644 "$stage/README.md" "$CONFIG_DIR/README.md"; fi
  # The bundle's punchgate-gateway.service is the same text as the one written below from the
  # installed release (provisioning/pi/units.ts): the release's is used.
  run rm -rf "$stage"
  note "the bundle holds the device's secret: delete it from laptops and USB sticks now"
fi

# ---------------------------------------------------------------------------------------------
step "systemd units: $GATEWAY_UNIT, $KIOSK_UNIT, $BLUETOOTH_UNIT"
BROWSER=$(command -v chromium || command -v chromium-browser || printf /usr/bin/chromium)
run "$NODE" "$RELEASE_DIR/dist/provisioning/pi/write-units.js" --out "$UNIT_DIR" --pam-dir "$PAM_DIR" --config "$CONFIG_DIR/gateway.json" --executable "$EXECUTABLE" --browser "$BROWSER"
run systemctl daemon-reload

# ---------------------------------------------------------------------------------------------
step "Bluetooth for BLE without root (adapter $ADAPTER)"
note "the gateway's unit gives it CAP_NET_RAW and CAP_NET_ADMIN (AmbientCapabilities=): no root, no setcap on node"
instance="${BLUETOOTH_UNIT/@./@$ADAPTER.}"
if [ "$KEEP_BLUETOOTHD" -eq 1 ]; then
  note "keeping bluetoothd (--keep-bluetoothd): it powers the adapter; the rotating beacon cannot advertise beside it"
  run systemctl disable "$instance"
  # An earlier install may have masked it.
  run systemctl unmask bluetooth.service
  run systemctl enable --now bluetooth.service
else
  # bleno needs bluetoothd off (docs/deploy-pi.md); masked so that D-Bus does not start it again.
  run systemctl disable --now bluetooth.service
  run systemctl mask bluetooth.service
  run systemctl enable "$instance"
  if [ -e "/sys/class/bluetooth/$ADAPTER" ] || [ "$DRY_RUN" -eq 1 ]; then
    run systemctl restart "$instance"
  else
    warn "no Bluetooth adapter $ADAPTER now: it is powered up when it appears (BLE stays off until then)"
  fi
fi

# ---------------------------------------------------------------------------------------------
step "services"
if [ -f "$CONFIG_DIR/gateway.json" ] || { [ "$DRY_RUN" -eq 1 ] && [ -n "$BUNDLE" ]; }; then
  run systemctl enable "$GATEWAY_UNIT"
  # Waits for READY=1 (Type=notify): returns once the gateway serves, or fails.
  if ! run systemctl restart "$GATEWAY_UNIT"; then
    die "the gateway did not start; see: journalctl -u ${GATEWAY_UNIT%.service} -n 50"
  fi
  if [ "$KIOSK" -eq 1 ]; then
    run systemctl enable "$KIOSK_UNIT"
    # Not waited for: a Pi without a display still finishes its install (journalctl -u punchgate-kiosk).
    run systemctl restart --no-block "$KIOSK_UNIT"
  else
    run systemctl disable --now "$KIOSK_UNIT"
  fi
else
  note "no $CONFIG_DIR/gateway.json yet: enrol this Pi with the bundle from the dashboard:"
  note "  sudo punchgate-install --bundle punchgate-enrol-ID.tar.gz"
fi

# ---------------------------------------------------------------------------------------------
step "done"
note "punchgate $VERSION: $EXECUTABLE --version"
note "status:  systemctl status ${GATEWAY_UNIT%.service}    logs: journalctl -u ${GATEWAY_UNIT%.service} -f"
readers=$(find /dev -maxdepth 1 -name 'punchgate-reader-*' -printf '%f ' 2>/dev/null || true)
note "readers: ${readers:-none plugged in yet} (put their /dev/punchgate-reader-... path in $CONFIG_DIR/gateway.json)"
[ "$DRY_RUN" -eq 0 ] || note "dry run: nothing was changed"
