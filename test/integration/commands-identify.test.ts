import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Feedback } from '../../core/feedback.js';
import type { CommandReply } from '../../core/messages.js';
import { BridgeReader } from '../../firmware-bridge/drivers/bridge-reader.js';
import type { ReaderDriver } from '../../firmware-bridge/reader-driver.js';
import { createReaderDriver } from '../../firmware-bridge/reader-factory.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import { CommandHandler } from '../../gateway/commands.js';
import { testLogger } from '../support/logger.js';
import { PtyPair } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';

const logger = testLogger();

describe('the identify command with real reader drivers over pty pairs', () => {
  const pairs: PtyPair[] = [];
  const readers: ReaderDriver[] = [];
  let deviceLink: SerialLink;
  let device: BridgeDeviceSimulator;
  let shown: Feedback[];

  beforeEach(async () => {
    for (let i = 0; i < 3; i += 1) pairs.push(await PtyPair.create());
    const [bridgePair, passivePair, silentPair] = pairs as [PtyPair, PtyPair, PtyPair];
    // door-1: a punchgate bridge with its (simulated) firmware answering.
    readers.push(new BridgeReader({ id: 'door-1', path: bridgePair.a, baudRate: 115200, logger, ackTimeoutMs: 100, maxRetries: 2, heartbeatIntervalMs: 50, heartbeatTimeoutMs: 400, minRetryMs: 20, maxRetryMs: 100 }));
    // door-2: an RDM6300, which cannot show feedback at all.
    readers.push(createReaderDriver({ id: 'door-2', path: passivePair.a, protocol: 'rdm6300', minRetryMs: 20, maxRetryMs: 100 }, logger));
    // door-3: a bridge whose device has gone quiet: nothing acknowledges.
    readers.push(new BridgeReader({ id: 'door-3', path: silentPair.a, baudRate: 115200, logger, ackTimeoutMs: 50, maxRetries: 1, heartbeatIntervalMs: 50, heartbeatTimeoutMs: 400, minRetryMs: 20, maxRetryMs: 100 }));
    deviceLink = new SerialLink({ path: bridgePair.b, baudRate: 115200, logger, minRetryMs: 20, maxRetryMs: 100 });
    await deviceLink.start();
    device = new BridgeDeviceSimulator({ port: deviceLink, firmware: 'pg-test 2.3.4', heartbeatMs: 50, ackTimeoutMs: 100 });
    shown = [];
    device.on('feedback', (feedback) => shown.push(feedback));
    for (const reader of readers) await reader.start();
    await device.start();
    await waitFor('the bridge reader to be ready', () => readers[0]?.status().state === 'ready');
  });

  afterEach(async () => {
    await device.stop();
    await deviceLink.stop();
    for (const reader of readers.splice(0)) await reader.stop();
    for (const pair of pairs.splice(0)) await pair.close();
  });

  it('blinks every reader and reports which took it', async () => {
    const published: CommandReply[] = [];
    const handler = new CommandHandler({
      resync: async () => undefined,
      reload: async () => undefined,
      readers: () => readers,
      publish: async (reply) => {
        published.push(reply);
      },
      logger,
    });
    const reply = await handler.handle(Buffer.from(JSON.stringify({ requestId: 'req-identify-1', command: 'identify' })));
    expect(reply).toEqual({ requestId: 'req-identify-1', ok: true, result: { readers: 3, acknowledged: 1, notAcknowledged: ['door-2', 'door-3'] } });
    expect(published).toEqual([reply]);
    expect(shown).toEqual([{ kind: 'identify' }]);
  });
});
