import { afterEach, describe, expect, it } from 'vitest';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { createVirtualPair } from '../../firmware-bridge/virtual-serial.js';
import { testLogger } from '../support/logger.js';
import { PtyPair } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';

/**
 * A serial port that dies without its poller noticing (a pty whose other side went away, a USB
 * adapter that wedged) fails its next write: the link drops it and opens the path again, instead
 * of staying on a dead port for ever. The lowest layer, serialport's binding, is closed under the
 * open stream to make exactly that happen.
 */

describe('SerialLink on a port that dies under it', () => {
  const links: SerialLink[] = [];
  afterEach(async () => {
    for (const link of links.splice(0)) await link.stop();
  });

  it('fails the write, says why, opens the port again and writes through it', async () => {
    const pair = createVirtualPair(`dead-${Date.now()}`);
    const a = new SerialLink({ path: pair.a, baudRate: 9600, logger: testLogger(), minRetryMs: 10, maxRetryMs: 40, writeTimeoutMs: 300 });
    const b = new SerialLink({ path: pair.b, baudRate: 9600, logger: testLogger(), minRetryMs: 10, maxRetryMs: 40 });
    links.push(a, b);
    const received: Buffer[] = [];
    b.on('data', (chunk) => received.push(chunk));
    const states: string[] = [];
    a.on('state', (state, detail) => states.push(detail ? `${state}: ${detail}` : state));
    await a.start();
    await b.start();
    await a.write(Buffer.from('one'));
    await waitFor('the first bytes', () => (Buffer.concat(received).toString() === 'one' ? true : undefined));

    // The binding closes under the stream, which still believes it is open.
    const binding = (a as unknown as { port: { port: { close(): Promise<void> } } }).port.port;
    await binding.close();
    // serialport's stream waits for an 'open' that never comes: the write times out.
    await expect(a.write(Buffer.from('lost'))).rejects.toThrow(`write to serial port ${pair.a} not written in 300 ms`);
    expect(states).toContainEqual(expect.stringMatching(/^waiting: lost: /));

    await waitFor('the link open again', () => (a.state === 'open' ? true : undefined));
    await a.write(Buffer.from(' two'));
    await waitFor('bytes after the re-open', () => (Buffer.concat(received).toString() === 'one two' ? true : undefined));
  });

  it('stopped and started again while an open is in flight: the older open gives the port up, one port stays open', async () => {
    const pair = createVirtualPair(`restart-${Date.now()}`);
    const a = new SerialLink({ path: pair.a, baudRate: 9600, logger: testLogger(), minRetryMs: 10, maxRetryMs: 40 });
    const b = new SerialLink({ path: pair.b, baudRate: 9600, logger: testLogger(), minRetryMs: 10, maxRetryMs: 40 });
    links.push(a, b);
    const received: Buffer[] = [];
    b.on('data', (chunk) => received.push(chunk));
    await b.start();
    const first = a.start();
    await a.stop();
    await a.start();
    await first;
    await waitFor('the link open', () => (a.state === 'open' ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Before the fix the older open took the port and the newer one retried for ever on the lock.
    expect(a.state).toBe('open');
    await a.write(Buffer.from('after restart'));
    await waitFor('bytes through the one open port', () => (Buffer.concat(received).toString() === 'after restart' ? true : undefined));
  });

  it('fails every write still waiting for the kernel when the port closes, with one close listener for all of them', async () => {
    // A real pty whose far end nobody reads: its buffers fill and the writes wait for their drain.
    const pair = await PtyPair.create();
    const link = new SerialLink({ path: pair.a, baudRate: 115200, logger: testLogger(), writeTimeoutMs: 30_000 });
    links.push(link);
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      await link.start();
      const writes = Array.from({ length: 16 }, () => link.write(Buffer.alloc(64 * 1024, 0x55)).then(() => 'drained', (error: Error) => error.message));
      const port = (link as unknown as { port: { listenerCount(event: string): number } }).port;
      // Before: one 'close' listener per waiting write (17 here), and Node warned of a leak past 10.
      expect(port.listenerCount('close')).toBe(1);
      await link.stop();
      const outcomes = await Promise.all(writes);
      expect(outcomes.filter((outcome) => outcome !== 'drained').length).toBeGreaterThan(0);
      // serialport fails what it still holds ("Port is not open"), the link's close listener the rest.
      for (const outcome of outcomes) expect(outcome).toMatch(new RegExp(`^(drained|Port is not open|serial port ${pair.a} closed during a write)$`));
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await pair.close();
    }
  });

  it('refuses a write while the port is not open, without touching the link', async () => {
    const link = new SerialLink({ path: 'virtual:never-created#a', baudRate: 9600, logger: testLogger(), minRetryMs: 1000, maxRetryMs: 1000 });
    links.push(link);
    await expect(link.write(Buffer.from('x'))).rejects.toThrow('serial port virtual:never-created#a is not open');
    expect(link.state).toBe('idle');
  });
});
