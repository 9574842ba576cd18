/**
 * The systemd units of a punchgate Raspberry Pi, one source for both ways they reach a Pi: the
 * enrolment bundle (provisioning/device-bundle.ts puts `gatewayUnit` in it) and the installer
 * (provisioning/pi/install.sh writes all three through write-units.ts). Pure: text in, text out.
 *
 *   punchgate-gateway.service     the gateway: Type=notify with a watchdog, hardened, restarts forever
 *   punchgate-kiosk.service       Chromium in kiosk mode on the Pi's display (cage), once the gateway is ready
 *   punchgate-bluetooth@.service  powers the Bluetooth adapter up, since bluetoothd is off for bleno
 *
 * See docs/deploy-pi.md for the layout and docs/enrolment.md for the bundle.
 */

/** Where everything lives on a Pi; the installer, the bundle and the units agree on these. */
export const PI_LAYOUT = {
  /** The gateway's config, secret and CA (from the enrolment bundle). */
  configDir: '/etc/punchgate',
  /** The only place the gateway writes (its SQLite store). */
  dataDir: '/var/lib/punchgate',
  /** What the units run: a wrapper that execs Node on the active release. */
  executable: '/usr/local/bin/punchgate',
  /** Releases live in releases/VERSION; `current` points at the active one. */
  installRoot: '/opt/punchgate',
  serviceUser: 'punchgate',
  kioskUser: 'punchgate-kiosk',
  /** The PAM service of the kiosk's login session (/etc/pam.d/punchgate-kiosk). */
  kioskPamService: 'punchgate-kiosk',
} as const;

export const UNIT_FILES = {
  gateway: 'punchgate-gateway.service',
  kiosk: 'punchgate-kiosk.service',
  bluetooth: 'punchgate-bluetooth@.service',
} as const;

/** Seconds without a watchdog ping before systemd kills the gateway; it pings every half of this. */
export const GATEWAY_WATCHDOG_SECONDS = 30;

/** Paths written unquoted into units: absolute, without whitespace, quotes or `%` (a unit specifier). */
function checkPath(name: string, value: string): string {
  if (!/^\/[A-Za-z0-9_./+@-]*$/.test(value)) throw new Error(`${name} must be an absolute path without spaces, quotes or %: ${value}`);
  return value;
}

export interface GatewayUnitSettings {
  /** Named in the Description when known (the bundle's device; the installer reads it from the config). */
  deviceId?: string | undefined;
  siteId?: string | undefined;
  /** Folder of gateway.json and the README the unit's Documentation= points at. */
  installDir?: string;
  dataDir?: string;
  executable?: string;
}

/**
 * The gateway's unit. Type=notify: the gateway says READY=1 once it serves (so the kiosk starts
 * after it) and pings the watchdog from its event loop (gateway/systemd-notify.ts), so a loop stuck
 * for {@link GATEWAY_WATCHDOG_SECONDS} s is killed and restarted.
 *
 * Hardening that leaves the gateway its hardware: the serial readers through the dialout group,
 * Bluetooth (noble/bleno open raw HCI sockets) through CAP_NET_RAW/CAP_NET_ADMIN given to the
 * service alone (not file capabilities on /usr/bin/node, which every user's scripts would get)
 * and AF_BLUETOOTH. Deliberately absent: PrivateDevices= (hides /dev/ttyUSB*), ProtectClock=
 * (implies a device allow-list that blocks serial ports on systemd before 253), and
 * MemoryDenyWriteExecute= (Node's JIT needs writable executable memory). With ProtectSystem=strict
 * the only place it can write is its data dir: the layout suits a read-only root.
 */
export function gatewayUnit(settings: GatewayUnitSettings = {}): string {
  const installDir = checkPath('installDir', settings.installDir ?? PI_LAYOUT.configDir);
  const dataDir = checkPath('dataDir', settings.dataDir ?? PI_LAYOUT.dataDir);
  const executable = checkPath('executable', settings.executable ?? PI_LAYOUT.executable);
  const stateDirectory = dataDir.startsWith('/var/lib/') ? dataDir.slice('/var/lib/'.length) : undefined;
  const who = settings.deviceId ? ` ${settings.deviceId}${settings.siteId ? ` (site ${settings.siteId})` : ''}` : '';
  return [
    '# punchgate gateway (provisioning/pi/units.ts): from the enrolment bundle or punchgate-install.',
    '[Unit]',
    `Description=punchgate gateway${who}`,
    `Documentation=file://${installDir}/README.md file://${PI_LAYOUT.installRoot}/current/docs/deploy-pi.md`,
    'Wants=network-online.target',
    'After=network-online.target',
    '# Never give up restarting: a gateway that stops records no punches.',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    '# READY=1 once it serves; WATCHDOG=1 from its event loop every half WatchdogSec: a gateway stuck',
    '# that long is killed (SIGABRT) and restarted. Only its main process may notify.',
    'Type=notify',
    'NotifyAccess=main',
    `WatchdogSec=${GATEWAY_WATCHDOG_SECONDS}s`,
    'TimeoutStartSec=120s',
    `User=${PI_LAYOUT.serviceUser}`,
    `Group=${PI_LAYOUT.serviceUser}`,
    '# The serial badge readers (/dev/ttyUSB*, /dev/ttyACM*, /dev/ttyAMA*) belong to dialout.',
    'SupplementaryGroups=dialout',
    `ExecStart=${executable} gateway --config ${installDir}/gateway.json`,
    'Restart=always',
    'RestartSec=5',
    '# SIGTERM first: the gateway closes its SQLite store and says goodbye to the broker.',
    'TimeoutStopSec=30',
    'Environment=NODE_ENV=production',
    '# BLE: noble (tag scanning) and bleno (the rotating beacon) share the adapter in this one process.',
    'Environment=NOBLE_MULTI_ROLE=1',
    '# Logs (JSON lines on stdout) go to the journal: journalctl -u punchgate-gateway.',
    'SyslogIdentifier=punchgate-gateway',
    ...(stateDirectory ? [`# ${dataDir}, made and owned by the service user.`, `StateDirectory=${stateDirectory}`, 'StateDirectoryMode=0750'] : [`ReadWritePaths=${dataDir}`]),
    `WorkingDirectory=${dataDir}`,
    'UMask=0077',
    '# Bluetooth without root: BLE tag scanning and the rotating beacon use raw HCI sockets.',
    'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN',
    'CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_BLUETOOTH',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectHostname=yes',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    '# A refused system call fails (and Node falls back), rather than killing the gateway.',
    'SystemCallErrorNumber=EPERM',
    '# Not set on purpose: PrivateDevices= hides the serial ports; ProtectClock= implies a device',
    "# allow-list that blocks them on older systemd; MemoryDenyWriteExecute= breaks Node's JIT.",
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Chromium's switches for an unattended kiosk that writes nothing to the SD card. */
export const KIOSK_BROWSER_FLAGS = [
  '--kiosk',
  '--noerrdialogs',
  '--disable-infobars',
  '--disable-session-crashed-bubble',
  '--no-first-run',
  '--disable-features=Translate',
  '--disable-pinch',
  '--overscroll-history-navigation=0',
  // No network of its own: no updates, sync, component downloads or background requests.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--password-store=basic',
  '--ozone-platform=wayland',
] as const;

export interface KioskUnitSettings {
  /** The gateway's kiosk page, e.g. http://127.0.0.1:8080/kiosk. */
  url: string;
  /** /usr/bin/chromium (Debian, Raspberry Pi OS since late 2024) or /usr/bin/chromium-browser. */
  browser?: string;
  cage?: string;
  curl?: string;
  /** The virtual terminal the display session takes over (getty on it is stopped). */
  tty?: string;
}

/**
 * The kiosk screen: Chromium in kiosk mode, full screen on the Pi's display inside the cage Wayland
 * compositor (Raspberry Pi OS Lite has no desktop), in a logind session on tty1 so that it may use
 * the display and input devices. Started after the gateway said READY=1 and once its page answers;
 * restarted whenever it exits. Its browser profile lives in RAM (/run), fresh at every start.
 */
export function kioskUnit(settings: KioskUnitSettings): string {
  if (!/^https?:\/\/[A-Za-z0-9.:[\]_-]+(\/[A-Za-z0-9._~/-]*)?$/.test(settings.url)) throw new Error(`the kiosk URL must be a plain http(s) URL: ${settings.url}`);
  const browser = checkPath('browser', settings.browser ?? '/usr/bin/chromium');
  const cage = checkPath('cage', settings.cage ?? '/usr/bin/cage');
  const curl = checkPath('curl', settings.curl ?? '/usr/bin/curl');
  const tty = settings.tty ?? 'tty1';
  if (!/^tty[0-9]+$/.test(tty)) throw new Error(`the kiosk tty must be like tty1: ${tty}`);
  const runtime = `/run/${PI_LAYOUT.kioskUser}`;
  return [
    '# punchgate kiosk screen (provisioning/pi/units.ts): Chromium on the Pi\'s display, written by punchgate-install.',
    '[Unit]',
    'Description=punchgate kiosk screen (Chromium on the display)',
    `Documentation=file://${PI_LAYOUT.installRoot}/current/docs/deploy-pi.md`,
    '# The gateway is Type=notify: ordered after it, the kiosk starts once it said READY=1.',
    `Wants=${UNIT_FILES.gateway}`,
    `After=${UNIT_FILES.gateway}`,
    'After=systemd-user-sessions.service plymouth-quit-wait.service',
    '# A logind session gives the compositor the display and the touch screen.',
    'Wants=dbus.socket systemd-logind.service',
    'After=dbus.socket systemd-logind.service',
    `Conflicts=getty@${tty}.service`,
    `After=getty@${tty}.service`,
    'ConditionPathExists=/dev/tty0',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `User=${PI_LAYOUT.kioskUser}`,
    `Group=${PI_LAYOUT.kioskUser}`,
    'SupplementaryGroups=video render input',
    `PAMName=${PI_LAYOUT.kioskPamService}`,
    `TTYPath=/dev/${tty}`,
    'TTYReset=yes',
    'TTYVHangup=yes',
    'TTYVTDisallocate=yes',
    'StandardInput=tty-fail',
    'StandardOutput=journal',
    'StandardError=journal',
    'SyslogIdentifier=punchgate-kiosk',
    `UtmpIdentifier=${tty}`,
    'UtmpMode=user',
    '# A fresh profile in RAM at every start: nothing written to the SD card, no "restore pages?" after a power cut.',
    `RuntimeDirectory=${PI_LAYOUT.kioskUser}`,
    'RuntimeDirectoryMode=0700',
    `Environment=HOME=${runtime}`,
    `Environment=XDG_CONFIG_HOME=${runtime}/config`,
    `Environment=XDG_CACHE_HOME=${runtime}/cache`,
    '# Wait (about a minute) for the page itself; the unit is restarted if it never comes.',
    `ExecStartPre=${curl} --silent --show-error --output /dev/null --retry 30 --retry-delay 2 --retry-connrefused ${settings.url}`,
    `ExecStart=${cage} -s -- ${browser} ${KIOSK_BROWSER_FLAGS.join(' ')} --user-data-dir=${runtime}/chromium ${settings.url}`,
    'Restart=always',
    'RestartSec=3',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export interface BluetoothUnitSettings {
  hciconfig?: string;
  rfkill?: string;
}

/**
 * A template, enabled as punchgate-bluetooth@hci0.service: bleno needs bluetoothd stopped
 * (docs/deploy-pi.md), and without bluetoothd nobody powers the adapter up. Started whenever the
 * adapter appears (bluetooth.target), before the gateway.
 */
export function bluetoothUnit(settings: BluetoothUnitSettings = {}): string {
  const hciconfig = checkPath('hciconfig', settings.hciconfig ?? '/usr/bin/hciconfig');
  const rfkill = checkPath('rfkill', settings.rfkill ?? '/usr/sbin/rfkill');
  return [
    '# punchgate (provisioning/pi/units.ts): powers Bluetooth adapter %i up for BLE without bluetoothd.',
    '[Unit]',
    'Description=punchgate: power up Bluetooth adapter %i for the gateway',
    `Documentation=file://${PI_LAYOUT.installRoot}/current/docs/deploy-pi.md`,
    'BindsTo=sys-subsystem-bluetooth-devices-%i.device',
    'After=sys-subsystem-bluetooth-devices-%i.device',
    `Before=${UNIT_FILES.gateway}`,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    '# "-": an adapter that was never blocked is fine.',
    `ExecStart=-${rfkill} unblock bluetooth`,
    `ExecStart=${hciconfig} %i up`,
    '',
    '[Install]',
    'WantedBy=bluetooth.target',
    'DefaultInstance=hci0',
    '',
  ].join('\n');
}

/** The kiosk's PAM service: a logind session (pam_systemd) for an account that has no password. */
export const KIOSK_PAM_CONFIG = [
  '# /etc/pam.d/punchgate-kiosk (provisioning/pi/units.ts): the kiosk display session, started by',
  '# punchgate-kiosk.service without a password; pam_systemd makes it a logind session on its seat.',
  'auth     required pam_permit.so',
  'account  required pam_unix.so',
  'session  required pam_unix.so',
  'session  required pam_systemd.so',
  '',
].join('\n');

/** The kiosk page's URL from the gateway config's `http` (a wildcard listen address is reached on loopback). */
export function kioskUrl(http: { host?: string; port?: number } | undefined): string {
  const host = http?.host ?? '127.0.0.1';
  const port = http?.port ?? 8080;
  if (port === 0) throw new Error('http.port is 0 (a random port) in the gateway config: the kiosk needs a fixed port');
  const reach = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${reach.includes(':') ? `[${reach}]` : reach}:${port}/kiosk`;
}
