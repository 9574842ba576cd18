import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { lateEvent } from '../support/alert-event-fixture.js';
import { bearer } from '../support/dashboard-auth.js';
import { testLogger } from '../support/logger.js';
import { rowsOf } from '../support/sqlite-rows.js';
import { wifiOnlyPolicy } from '../support/site-policy.js';
import { waitFor } from '../support/wait.js';

/**
 * Alerts by e-mail: the dashboard configured with notifications.smtp sends through nodemailer to
 * a real SMTP server in this process (smtp-server, with AUTH): one message per recipient, a
 * subject and body in English and Traditional Chinese, local times of the site's time zone, a
 * permanent refusal given up at once, and a replay sending the mail again.
 */

interface Received {
  from: string | undefined;
  to: string[];
  user: string | undefined;
  raw: string;
}

/** RFC 2047 encoded-words (B and Q) in a header value, decoded; whitespace between two words dropped. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_word, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8'),
    );
}

/** A header of the raw message (unfolded, decoded). */
function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/)[0]?.replace(/\r?\n[ \t]+/g, ' ') ?? '';
  const line = head.split(/\r?\n/).find((candidate) => candidate.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line === undefined ? undefined : decodeWords(line.slice(name.length + 1).trim());
}

/** The text body, decoded from its transfer encoding. */
function body(raw: string): string {
  const [, ...rest] = raw.split(/\r?\n\r?\n/);
  const text = rest.join('\n\n');
  const encoding = header(raw, 'Content-Transfer-Encoding')?.toLowerCase();
  if (encoding === 'base64') return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = text.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return text;
}

describe('alerts by e-mail (SMTP)', () => {
  let dir: string;
  let dashboard: Dashboard;
  let smtp: SMTPServer;
  const received: Received[] = [];
  const rows = (sql: string): Promise<Array<Record<string, any>>> => rowsOf(path.join(dir, 'dashboard.sqlite'), sql);

  beforeAll(async () => {
    smtp = new SMTPServer({
      // Plain SMTP on loopback with AUTH (no STARTTLS offered), as a local relay would be.
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'alerts' && auth.password === 'relay-password') callback(null, { user: auth.username });
        else callback(Object.assign(new Error('invalid credentials'), { responseCode: 535 }));
      },
      onRcptTo(address, _session, callback) {
        if (address.address === 'nobody@example.com') callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
        else callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            user: typeof session.user === 'string' ? session.user : undefined,
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
      logger: false,
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as AddressInfo).port;
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-alert-mail-'));
    dashboard = await startDashboard(
      DashboardConfig.parse({
        dataDir: dir,
        http: { port: 0 },
        mqtt: { mode: 'embedded', port: 0 },
        notifications: { smtp: { host: '127.0.0.1', port, secure: false, user: 'alerts', password: 'relay-password', from: '"punchgate alerts" <alerts@example.com>' } },
      }),
      testLogger(),
      { onFirstAdmin: () => undefined },
    );
    // A site in another time zone: its alerts show that zone's local time.
    const site = await dashboard.http.inject({ method: 'PUT', url: '/api/v1/sites/tyo-01', headers: bearer(dashboard.apiToken), payload: { name: 'Tokyo', timeZone: 'Asia/Tokyo', policy: wifiOnlyPolicy('tyo-01') } });
    expect(site.statusCode, site.body).toBe(201);
  });

  afterAll(async () => {
    await dashboard?.stop();
    await new Promise<void>((resolve) => smtp?.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('mails the employee and the manager, one message each, with the subject and body in English and Traditional Chinese', async () => {
    expect(await dashboard.notifications.enqueue([lateEvent()])).toEqual({ created: 1 });
    await waitFor('two messages', () => received.length === 2);
    await waitFor('both recorded as delivered', async () => (await rows("SELECT COUNT(*) AS n FROM notification_deliveries WHERE status = 'delivered'"))[0]?.n === 2);

    expect(received.map((message) => message.to)).toEqual(expect.arrayContaining([['taiman@example.com'], ['siuming@example.com']]));
    for (const message of received) {
      expect(message.from).toBe('alerts@example.com');
      expect(message.user).toBe('alerts');
      const subject = header(message.raw, 'Subject') ?? '';
      expect(subject).toContain('Late arrival');
      expect(subject).toContain('遲到');
      expect(subject).toContain('Chan Tai Man');
      expect(subject).toContain('陳大文');
      expect(subject).toContain('2026-11-20');
      expect(header(message.raw, 'To')).toBe(message.to[0]);
      expect(header(message.raw, 'Punchgate-Event-Id')).toBe('late:E001:2026-11-20');
      const text = body(message.raw);
      expect(text).toContain('Chan Tai Man (E001) arrived late.');
      expect(text).toContain('陳大文（E001）遲到。');
      // 01:12 UTC at a site without a known zone: Hong Kong, 09:12.
      expect(text).toContain('09:12');
      expect(text).toContain('minutesLate: 12');
    }
    expect(await rows("SELECT channel, address, status, attempts, last_status_code FROM notification_deliveries ORDER BY address")).toEqual([
      { channel: 'email', address: 'siuming@example.com', status: 'delivered', attempts: 1, last_status_code: 250 },
      { channel: 'email', address: 'taiman@example.com', status: 'delivered', attempts: 1, last_status_code: 250 },
    ]);
  });

  it("sends a shift reminder to the employee only, at the site's local time", async () => {
    received.splice(0);
    await dashboard.notifications.enqueue([
      lateEvent({ key: 'shift-reminder:E001:2026-11-21T00:00Z', kind: 'shift-reminder', occurredAt: '2026-11-21T00:00:00Z', siteId: 'tyo-01', workDate: '2026-11-21', details: {} }),
    ]);
    await waitFor('the reminder', () => received.length === 1);
    const [message] = received;
    expect(message?.to).toEqual(['taiman@example.com']);
    expect(header(message?.raw ?? '', 'Subject')).toContain('Shift reminder 上班提醒');
    // 00:00 UTC is 09:00 in Tokyo.
    expect(body(message?.raw ?? '')).toMatch(/Time: 21\/11\/2026, 09:00 GMT\+9/);
  });

  it('gives up at once on a permanent refusal (550) while the other recipient gets the mail', async () => {
    received.splice(0);
    await dashboard.notifications.enqueue([
      lateEvent({ key: 'absence:E002:2026-11-20', kind: 'absence', employee: { employeeNumber: 'E002', name: 'Lee Ka Yan', email: 'nobody@example.com' } }),
    ]);
    await waitFor('both deliveries finished', async () => {
      const statuses = await rows("SELECT address, status, attempts, last_status_code, last_error FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.key = 'absence:E002:2026-11-20' ORDER BY address");
      return statuses.every((row) => row.status === 'delivered' || row.status === 'gave-up') && statuses;
    });
    const statuses = await rows("SELECT address, status, attempts, last_status_code, last_error FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.key = 'absence:E002:2026-11-20' ORDER BY address");
    expect(statuses).toEqual([
      { address: 'nobody@example.com', status: 'gave-up', attempts: 1, last_status_code: 550, last_error: expect.stringContaining('mailbox unavailable') },
      { address: 'siuming@example.com', status: 'delivered', attempts: 1, last_status_code: 250, last_error: null },
    ]);
    expect(received.map((message) => message.to)).toEqual([['siuming@example.com']]);
    expect(header(received[0]?.raw ?? '', 'Subject')).toContain('Absence 曠工');
  });

  it('replays a delivered e-mail: the recipient gets it again, with a new Message-ID', async () => {
    received.splice(0);
    const [delivery] = await rows("SELECT id FROM notification_deliveries WHERE address = 'taiman@example.com' AND notification_id = (SELECT id FROM notifications WHERE key = 'late:E001:2026-11-20')");
    const replayed = await dashboard.http.inject({ method: 'POST', url: `/api/v1/deliveries/${delivery?.id}/replay`, headers: bearer(dashboard.apiToken) });
    expect(replayed.statusCode, replayed.body).toBe(202);
    await waitFor('the mail again', () => received.length === 1);
    expect(received[0]?.to).toEqual(['taiman@example.com']);
    expect(header(received[0]?.raw ?? '', 'Punchgate-Event-Id')).toBe('late:E001:2026-11-20');
    expect(header(received[0]?.raw ?? '', 'Message-ID')).toBe(`<${delivery?.id}.1@punchgate>`);
    await waitFor('delivered twice', async () => {
      const [row] = await rows(`SELECT attempts, status FROM notification_deliveries WHERE id = '${delivery?.id}'`);
      return row?.attempts === 2 && row.status === 'delivered';
    });
  });
});
