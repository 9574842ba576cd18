#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (ptys, power cuts, syscall traces, a browser,
# Prometheus' promtool) when they are missing. Tests that need one of them fail with a clear message if
# this could not install it; none of them skips.
set -euo pipefail

declare -A package_for=(
  [socat]=socat
  [strace]=strace
  [xfs_io]=xfsprogs
  [eatmydata]=eatmydata
  [mkfs.ext4]=e2fsprogs
  [losetup]=util-linux
  [mosquitto]=mosquitto
  [mosquitto_passwd]=mosquitto
  [openssl]=openssl
  # The browser tests (test/e2e) drive Debian's Chromium with playwright-core.
  [chromium]=chromium
  # The report export tests read PDFs back as text and render them to images.
  [pdftotext]=poppler-utils
  [pdftoppm]=poppler-utils
  # ...and look inside an XLSX (a zip) for formula elements.
  [unzip]=unzip
  # The Raspberry Pi installer (provisioning/pi/install.sh) is kept shellcheck-clean, and its
  # systemd units are checked with systemd-analyze verify.
  [shellcheck]=shellcheck
  [systemd-analyze]=systemd
  # The PromQL in docs/metrics.md, the Grafana dashboard and the alerting rules
  # (provisioning/prometheus/) are checked with promtool, and /metrics with its linter.
  [promtool]=prometheus
)

missing=()
for command in "${!package_for[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${package_for[$command]}")
done
# libeatmydata.so is what the must-fail durability controls preload; the command alone is not enough.
if ! ls /usr/lib/*/libeatmydata.so* >/dev/null 2>&1 && ! ls /usr/lib/libeatmydata.so* >/dev/null 2>&1; then
  missing+=(eatmydata)
fi

# A CJK font, so that the console's 繁中 screenshots (test artefacts) show text, not empty boxes.
if [ ! -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]; then
  missing+=(fonts-wqy-zenhei)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "punchgate tests need these Debian packages: ${missing[*]}" >&2
  echo "install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing test packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
