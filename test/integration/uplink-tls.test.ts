import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { TestBroker } from '../support/aedes-broker.js';
import { TestIngest } from '../support/ingest-server.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { requireCommand } from '../support/pty-pair.js';
import { seedPunches, stateCounts, uplinkGatewayConfig } from '../support/uplink-fixtures.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
const DEVICE = 'gw-up-1';
const PASSWORD = 's3cret-for-gw';

/** A self-signed certificate for 127.0.0.1 (its own CA). */
async function selfSigned(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1']);
  return { cert, key };
}

describe('uplink over mqtts with a CA, a client certificate and a password file', () => {
  let dir: string;
  let broker: TestBroker | undefined;
  let ingest: TestIngest | undefined;
  let gateway: Gateway | undefined;
  let server: { cert: string; key: string };
  let client: { cert: string; key: string };

  beforeEach(async () => {
    requireCommand('openssl', 'openssl');
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-uplink-tls-'));
    server = await selfSigned(dir, 'broker');
    client = await selfSigned(dir, 'gateway');
    broker = await TestBroker.start({
      tls: { cert: await readFile(server.cert), key: await readFile(server.key), ca: [await readFile(client.cert)], requestCert: true, rejectUnauthorized: true },
      authenticate: (aedesClient, username, password, done) => {
        // The ingest's client id starts with "ingest-"; the gateway must bring its password.
        const ok = aedesClient.id.startsWith('ingest-') || (username === DEVICE && password?.toString() === PASSWORD);
        done(null, ok);
      },
    });
    ingest = await TestIngest.connect(broker.url, { ca: await readFile(server.cert), cert: await readFile(client.cert), key: await readFile(client.key) });
  });

  afterEach(async () => {
    await gateway?.stop();
    await ingest?.close();
    await broker?.stop();
    gateway = undefined;
    ingest = undefined;
    broker = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function config(passwordFile: string): GatewayConfig {
    const base = uplinkGatewayConfig(dir, (broker as TestBroker).url);
    return GatewayConfig.parse({ ...base, mqtt: { ...base.mqtt, passwordFile, ca: server.cert, cert: client.cert, key: client.key } });
  }

  it('connects with the files named in the config and drains', async () => {
    const passwordFile = path.join(dir, 'secret');
    await writeFile(passwordFile, `${PASSWORD}\n`);
    gateway = await startGateway(config(passwordFile), testLogger(), { clock: new ManualClock('2026-11-23T01:00:00.000Z') });
    await seedPunches(gateway.store.outbox, 10);
    gateway.uplink?.notify();
    await waitFor('acked over TLS', async () => (await stateCounts(path.join(dir, 'gateway.sqlite'))).acked === 10);
    expect((await gateway.health()).uplink).toMatchObject({ state: 'connected', url: (broker as TestBroker).url });
  });

  it('reports a missing password file and a wrong password in health, and connects once the right one is there', async () => {
    const passwordFile = path.join(dir, 'secret');
    gateway = await startGateway(config(passwordFile), testLogger(), { clock: new ManualClock('2026-11-23T01:00:00.000Z') });
    const gw = gateway;
    await waitFor('the missing file reported', async () => {
      const health = await gw.health();
      return health.uplink.enabled && health.uplink.lastError?.includes(`cannot read mqtt.passwordFile ${passwordFile}`);
    });
    // The gateway itself runs (it records punches offline); health says what is wrong.
    expect((await gw.health()).problems.some((problem) => problem.startsWith('uplink:'))).toBe(true);

    await writeFile(passwordFile, 'wrong-password\n');
    await waitFor('the refusal reported', async () => {
      const health = await gw.health();
      return health.uplink.enabled && /Not authorized|Bad username or password/i.test(health.uplink.lastError ?? '');
    });
    expect(gw.uplink?.connected).toBe(false);

    // Files are read again at every attempt: fixing the file is enough.
    await writeFile(passwordFile, `${PASSWORD}\n`);
    await waitFor('connected', () => gw.uplink?.connected, 10_000);
    expect((await gw.health()).uplink).toMatchObject({ state: 'connected', lastError: null });
  });
});
