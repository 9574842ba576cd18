import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';

// This machine has no AF_BLUETOOTH sockets and no nmcli: the real libraries are loaded and fail.
describe('gateway presence without a radio: each part says why, the gateway runs on', () => {
  let dir: string;
  let gateway: Gateway | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-noradio-'));
  });

  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function start(settings: Record<string, unknown>): Promise<Gateway> {
    gateway = await startGateway(
      GatewayConfig.parse({ deviceId: 'gw-1', siteId: 'mk-01', dataDir: path.join(dir, 'data'), http: { port: 0 }, presence: { settings } }),
      testLogger(),
      { clock: new ManualClock('2026-11-23T01:00:00.000Z'), presence: { wifiEnv: { PATH: path.join(dir, 'no-such-bin') } } },
    );
    return gateway;
  }

  it('reports BLE unavailable with the reason and stays healthy while the site asks nothing of it', async () => {
    const gw = await start({});
    const health = await gw.health();
    expect(health.presence.scanner).toEqual({ state: 'unavailable', reason: expect.stringContaining('EAFNOSUPPORT') });
    expect(health.presence.advertiser).toMatchObject({ state: 'not-configured' });
    expect(health.presence.wifi).toMatchObject({ state: 'not-configured' });
    expect(health.ok).toBe(true);
  });

  it('is unhealthy, saying why, when the site relies on the radio (hands-free, a rotating beacon, Wi-Fi)', async () => {
    const gw = await start({
      handsFree: { enabled: true },
      beacon: { eid: { identityKey: '0102030405060708090A111213141516', rotationExponent: 8, epochUnixSeconds: 1_790_000_000 } },
      wifi: { expectedBssids: ['7C:8B:CA:21:4E:10'] },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const health = await gw.health();
    expect(health.presence.advertiser).toMatchObject({ state: 'unavailable', reason: expect.stringContaining('EAFNOSUPPORT') });
    expect(health.presence.wifi).toMatchObject({ state: 'unavailable', reason: expect.stringContaining('nmcli') });
    expect(health.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^presence: hands-free punching is on but BLE scanning is unavailable \(.*EAFNOSUPPORT/),
        expect.stringMatching(/^presence: rotating beacon: unavailable/),
      ]),
    );
    expect(health.ok).toBe(false);
  });
});
