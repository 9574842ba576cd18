import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';
import type { Logger } from 'pino';

/**
 * The systemd notification protocol (sd_notify(3)) for `punchgate gateway` run as a `Type=notify`
 * service with `WatchdogSec=` (provisioning/pi/units.ts):
 *
 * - `READY=1` once the gateway has started (its store is open, its readers and HTTP are up), so
 *   that units ordered after it (the kiosk browser) start only then, and `systemctl start` returns
 *   only then;
 * - `WATCHDOG=1` every half watchdog interval, from a timer on the event loop: a loop stuck in a
 *   busy callback sends nothing, and systemd kills and restarts the gateway after `WatchdogSec`;
 * - `STATUS=...` (what `systemctl status` shows: readers and uplink) when it changes, and
 *   `STOPPING=1` when a stop begins.
 *
 * Without `NOTIFY_SOCKET` (a terminal, a test, another supervisor) it does nothing at all, and loads
 * nothing. The messages are datagrams on a unix socket, which Node cannot send: the `unix-dgram`
 * addon (a small native module, loaded only when `NOTIFY_SOCKET` is set) sends them from this
 * process itself, so the unit can keep the default `NotifyAccess=main`. Spawning `systemd-notify`
 * instead would need `NotifyAccess=all` (the message comes from a child) and a process per ping.
 */

/** One datagram socket that sends to the notify socket's path. */
export interface NotifySocket {
  /** Sends one datagram; errors come back through `onError`, never thrown. */
  send(message: Buffer, onError: (error: Error & { code?: string | number }) => void): void;
  close(): void;
}

export type OpenNotifySocket = (socketPath: string) => NotifySocket;

export interface SystemdNotifierOptions {
  logger: Logger;
  /** Where NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are read; they are removed from it, so that
   *  child processes (timedatectl, nmcli) do not take the service manager's socket for theirs.
   *  Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** This process's id, compared with WATCHDOG_PID. Default: process.pid. */
  pid?: number;
  /** Test hook: the datagram socket. Default: unix-dgram. */
  openSocket?: OpenNotifySocket;
}

/** What the environment asks for: where to send, and how often the watchdog wants a ping. */
export interface NotifySettings {
  socketPath: string | undefined;
  /** Half of WATCHDOG_USEC, in ms, when the watchdog is on and meant for this process. */
  watchdogPingMs: number | undefined;
  /** Why the settings are off or partly ignored, for the log. */
  problems: string[];
}

/** Reads the sd_notify environment (pure). */
export function notifySettings(env: NodeJS.ProcessEnv, pid: number): NotifySettings {
  const problems: string[] = [];
  const raw = env.NOTIFY_SOCKET;
  let socketPath: string | undefined;
  if (raw) {
    if (raw.startsWith('@')) problems.push(`NOTIFY_SOCKET ${raw} is an abstract socket, which punchgate cannot send to: no notifications`);
    else if (!raw.startsWith('/')) problems.push(`NOTIFY_SOCKET ${raw} is not an absolute path: no notifications`);
    else socketPath = raw;
  }
  let watchdogPingMs: number | undefined;
  const usec = env.WATCHDOG_USEC;
  if (socketPath && usec !== undefined) {
    const value = Number(usec);
    const forPid = env.WATCHDOG_PID === undefined || env.WATCHDOG_PID === '' ? pid : Number(env.WATCHDOG_PID);
    if (!Number.isSafeInteger(value) || value <= 0) problems.push(`WATCHDOG_USEC=${usec} is not a positive number of microseconds: no watchdog pings`);
    else if (forPid !== pid) problems.push(`WATCHDOG_PID=${env.WATCHDOG_PID} is another process: no watchdog pings from ${pid}`);
    // sd_watchdog_enabled(3) advises pinging at half the interval; never faster than every 10 ms.
    else watchdogPingMs = Math.max(10, Math.floor(value / 2000));
  }
  return { socketPath, watchdogPingMs, problems };
}

interface UnixDgramSocket {
  send(buffer: Buffer, offset: number, length: number, path: string, callback: (error?: Error & { code?: string | number }) => void): void;
  close(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
}
interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}

/** The default socket: unix-dgram, required only now (it is a native addon). Throws if it cannot load. */
export const openUnixDgramSocket: OpenNotifySocket = (socketPath) => {
  const unixDgram = createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;
  const socket = unixDgram.createSocket('unix_dgram');
  // Errors go to each send's callback; this only keeps a stray one from crashing the process.
  socket.on('error', () => undefined);
  return {
    send(message, onError) {
      socket.send(message, 0, message.length, socketPath, (error) => {
        if (!error) return;
        // unix-dgram reports a negative errno ("send -2"); name it (ENOENT: no socket there).
        const errno = typeof error.code === 'number' && error.code < 0 ? error.code : undefined;
        onError(errno === undefined ? error : Object.assign(new Error(`cannot send to ${socketPath}: ${getSystemErrorName(errno)}`), { code: getSystemErrorName(errno) }));
      });
    },
    close: () => socket.close(),
  };
};

export class SystemdNotifier {
  /** True when NOTIFY_SOCKET names a socket this process can send to. */
  readonly enabled: boolean;
  /** The watchdog ping period (half of WATCHDOG_USEC), when the service manager asked for pings. */
  readonly watchdogPingMs: number | undefined;
  private readonly logger: Logger;
  private socket: NotifySocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private statusSource: (() => string) | undefined;
  private lastStatus: string | undefined;
  private readonly reportedErrors = new Set<string>();
  private closed = false;

  constructor(options: SystemdNotifierOptions) {
    const env = options.env ?? process.env;
    const settings = notifySettings(env, options.pid ?? process.pid);
    // As sd_notify(unset_environment=1): the socket is this process's, not its children's.
    delete env.NOTIFY_SOCKET;
    delete env.WATCHDOG_USEC;
    delete env.WATCHDOG_PID;
    this.logger = options.logger.child({ part: 'systemd' });
    for (const problem of settings.problems) this.logger.warn(problem);
    this.watchdogPingMs = settings.watchdogPingMs;
    if (settings.socketPath) {
      try {
        this.socket = (options.openSocket ?? openUnixDgramSocket)(settings.socketPath);
      } catch (error) {
        // Under Type=notify systemd now waits for READY=1 in vain and restarts the gateway after
        // TimeoutStartSec: say why, loudly, once.
        this.logger.error({ err: error, socket: settings.socketPath }, 'cannot open the systemd notify socket (the unix-dgram module did not load): systemd will not see this gateway start');
      }
    }
    this.enabled = this.socket !== undefined;
  }

  /**
   * Started: sends READY=1 (with the status), then WATCHDOG=1 every {@link watchdogPingMs} from a
   * timer on the event loop. `status` is read at every ping and sent when it changed.
   */
  ready(status?: () => string): void {
    if (!this.socket || this.closed) return;
    this.statusSource = status;
    const text = this.currentStatus();
    this.send(['READY=1', ...(text !== undefined ? [`STATUS=${text}`] : [])]);
    this.logger.info({ watchdogPingMs: this.watchdogPingMs ?? null }, 'told systemd the gateway is ready');
    if (this.watchdogPingMs !== undefined && !this.timer) {
      this.timer = setInterval(() => this.ping(), this.watchdogPingMs);
      // The gateway's own sockets and servers keep the process alive, not this timer.
      this.timer.unref();
    }
  }

  /** A stop began (SIGTERM): systemd shows "deactivating" rather than a crash. */
  stopping(): void {
    if (!this.socket || this.closed) return;
    this.send(['STOPPING=1', 'STATUS=stopping']);
  }

  /** Stops the pings and closes the socket (its native handle would keep the process alive). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.socket?.close();
    this.socket = undefined;
  }

  private ping(): void {
    const text = this.currentStatus();
    const changed = text !== undefined && text !== this.lastStatus;
    this.send(['WATCHDOG=1', ...(changed ? [`STATUS=${text}`] : [])]);
  }

  private currentStatus(): string | undefined {
    if (!this.statusSource) return undefined;
    try {
      // One line: a newline would start another assignment.
      return this.statusSource().replace(/[\r\n]+/g, ' ');
    } catch {
      return undefined;
    }
  }

  private send(assignments: string[]): void {
    const socket = this.socket;
    if (!socket) return;
    const status = assignments.find((line) => line.startsWith('STATUS='));
    if (status) this.lastStatus = status.slice('STATUS='.length);
    // Newline-separated assignments (sd_notify(3)); the trailing newline is allowed and keeps a
    // capture of several datagrams readable line by line.
    socket.send(Buffer.from(`${assignments.join('\n')}\n`), (error) => {
      const key = String(error.code ?? error.message);
      // A missed ping is not fatal (the next one follows); a socket that stays away is worth one line.
      if (this.reportedErrors.has(key)) return;
      this.reportedErrors.add(key);
      this.logger.warn({ err: error }, 'a systemd notification could not be sent');
    });
  }
}

/** What `systemctl status punchgate-gateway` shows: "2/2 readers ready; uplink connected". */
export function gatewayStatusLine(parts: {
  readers: ReadonlyArray<{ status(): { id: string; state: string } }>;
  uplink: { health(): { state: string } } | undefined;
}): string {
  const statuses = parts.readers.map((reader) => reader.status());
  const ready = statuses.filter((status) => status.state === 'ready').length;
  const notReady = statuses.filter((status) => status.state !== 'ready').map((status) => `${status.id} ${status.state}`);
  const readers = statuses.length === 0 ? 'no readers configured' : `${ready}/${statuses.length} readers ready${notReady.length ? ` (${notReady.join(', ')})` : ''}`;
  const uplink = parts.uplink ? `uplink ${parts.uplink.health().state}` : 'no uplink configured';
  return `${readers}; ${uplink}`;
}
