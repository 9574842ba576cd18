import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { gatewayStatusLine, notifySettings, SystemdNotifier, type NotifySocket } from '../../gateway/systemd-notify.js';

/** A notify socket that records what would have been sent. */
function recordingSocket(): { open: (path: string) => NotifySocket; sent: string[]; paths: string[]; closed: () => boolean } {
  const sent: string[] = [];
  const paths: string[] = [];
  let closed = false;
  return {
    open: (path) => {
      paths.push(path);
      return { send: (message) => void sent.push(message.toString()), close: () => void (closed = true) };
    },
    sent,
    paths,
    closed: () => closed,
  };
}

const silent = pino({ level: 'silent' });

/** A real pino logger whose lines the test reads back. */
function captureLogger(): { logger: pino.Logger; lines: () => Array<{ level: number; msg?: unknown }> } {
  const written: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void written.push(line) });
  return { logger, lines: () => written.map((line) => JSON.parse(line) as { level: number; msg?: unknown }) };
}

describe('sd_notify environment', () => {
  it('pings at half of WATCHDOG_USEC, for this process only', () => {
    expect(notifySettings({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000' }, 42)).toEqual({ socketPath: '/run/systemd/notify', watchdogPingMs: 15_000, problems: [] });
    expect(notifySettings({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42).watchdogPingMs).toBe(15_000);
    const other = notifySettings({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42);
    expect(other.watchdogPingMs).toBeUndefined();
    expect(other.problems).toEqual(['WATCHDOG_PID=7 is another process: no watchdog pings from 42']);
    expect(notifySettings({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: 'soon' }, 42).problems).toEqual(['WATCHDOG_USEC=soon is not a positive number of microseconds: no watchdog pings']);
  });

  it('does nothing without NOTIFY_SOCKET, and refuses sockets it cannot reach', () => {
    expect(notifySettings({ WATCHDOG_USEC: '30000000' }, 42)).toEqual({ socketPath: undefined, watchdogPingMs: undefined, problems: [] });
    expect(notifySettings({ NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify' }, 42).problems[0]).toMatch(/abstract socket/);
    expect(notifySettings({ NOTIFY_SOCKET: 'notify' }, 42).problems[0]).toMatch(/not an absolute path/);
  });
});

describe('SystemdNotifier', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('without NOTIFY_SOCKET opens nothing and sends nothing', () => {
    const socket = recordingSocket();
    const notifier = new SystemdNotifier({ logger: silent, env: {}, openSocket: socket.open });
    notifier.ready(() => 'status');
    notifier.stopping();
    notifier.close();
    expect(notifier.enabled).toBe(false);
    expect(socket.paths).toEqual([]);
    expect(socket.sent).toEqual([]);
  });

  it('sends READY=1 with the status, pings from a timer, sends a changed status once, then STOPPING=1', () => {
    vi.useFakeTimers();
    const socket = recordingSocket();
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '2000000', WATCHDOG_PID: '42', PATH: '/usr/bin' };
    const notifier = new SystemdNotifier({ logger: silent, env, pid: 42, openSocket: socket.open });
    // Taken out of the environment, so that the gateway's children do not use the socket.
    expect(env).toEqual({ PATH: '/usr/bin' });
    expect(socket.paths).toEqual(['/run/systemd/notify']);
    let status = 'starting\nsecond line';
    notifier.ready(() => status);
    expect(socket.sent).toEqual(['READY=1\nSTATUS=starting second line\n']);
    vi.advanceTimersByTime(999);
    expect(socket.sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    vi.advanceTimersByTime(1000);
    status = '1/1 readers ready; uplink connected';
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(1000);
    expect(socket.sent.slice(1)).toEqual(['WATCHDOG=1\n', 'WATCHDOG=1\n', 'WATCHDOG=1\nSTATUS=1/1 readers ready; uplink connected\n', 'WATCHDOG=1\n']);
    notifier.stopping();
    expect(socket.sent.at(-1)).toBe('STOPPING=1\nSTATUS=stopping\n');
    notifier.close();
    expect(socket.closed()).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect(socket.sent.at(-1)).toBe('STOPPING=1\nSTATUS=stopping\n');
  });

  it('sends READY=1 but no pings when the watchdog is off', () => {
    vi.useFakeTimers();
    const socket = recordingSocket();
    const notifier = new SystemdNotifier({ logger: silent, env: { NOTIFY_SOCKET: '/run/systemd/notify' }, openSocket: socket.open });
    notifier.ready();
    vi.advanceTimersByTime(60_000);
    expect(socket.sent).toEqual(['READY=1\n']);
    notifier.close();
  });

  it('says loudly when the socket cannot be opened, and keeps the gateway running', () => {
    const { logger, lines } = captureLogger();
    const notifier = new SystemdNotifier({
      logger,
      env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000' },
      openSocket: () => {
        throw new Error("Cannot find module 'unix-dgram'");
      },
    });
    expect(notifier.enabled).toBe(false);
    notifier.ready();
    notifier.close();
    expect(lines().some((line) => line.level === 50 && /systemd will not see this gateway start/.test(String(line.msg)))).toBe(true);
  });

  it('logs a send error once per kind, not at every ping', () => {
    vi.useFakeTimers();
    const { logger, lines } = captureLogger();
    const notifier = new SystemdNotifier({
      logger,
      env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '200000' },
      openSocket: () => ({ send: (_message, onError) => onError(Object.assign(new Error('cannot send to /run/systemd/notify: ECONNREFUSED'), { code: 'ECONNREFUSED' })), close: () => undefined }),
    });
    notifier.ready();
    vi.advanceTimersByTime(1000);
    notifier.close();
    expect(lines().filter((line) => line.msg === 'a systemd notification could not be sent')).toHaveLength(1);
  });
});

describe('gatewayStatusLine', () => {
  const reader = (id: string, state: string) => ({ status: () => ({ id, state }) });
  it('names the readers that are not ready and the uplink state', () => {
    expect(gatewayStatusLine({ readers: [], uplink: undefined })).toBe('no readers configured; no uplink configured');
    expect(gatewayStatusLine({ readers: [reader('door', 'ready'), reader('side', 'disconnected')], uplink: { health: () => ({ state: 'connected' }) } })).toBe(
      '1/2 readers ready (side disconnected); uplink connected',
    );
  });
});
