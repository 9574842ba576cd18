import { describe, expect, it } from 'vitest';
import type { Feedback } from '../../core/feedback.js';
import type { CommandReply } from '../../core/messages.js';
import { CommandHandler, type CommandDependencies } from '../../gateway/commands.js';
import { testLogger } from '../support/logger.js';

interface Rig {
  handler: CommandHandler;
  published: CommandReply[];
  calls: string[];
}

/** A reader that takes or refuses feedback as told; the real drivers are in the integration test. */
function reader(id: string, behaviour: 'takes' | 'refuses' | 'hangs' | 'throws'): { id: string; got: Feedback[]; feedback: (feedback: Feedback) => Promise<boolean> } {
  const got: Feedback[] = [];
  return {
    id,
    got,
    feedback(feedback: Feedback): Promise<boolean> {
      got.push(feedback);
      if (behaviour === 'throws') throw new Error('driver bug');
      if (behaviour === 'hangs') return new Promise(() => undefined);
      return Promise.resolve(behaviour === 'takes');
    },
  };
}

function rig(overrides: Partial<CommandDependencies> = {}): Rig {
  const published: CommandReply[] = [];
  const calls: string[] = [];
  const handler = new CommandHandler({
    resync: async ({ includeRejected }) => {
      calls.push(includeRejected ? 'resync+rejected' : 'resync');
      return { pending: 12 };
    },
    reload: async () => {
      calls.push('reload');
      return { entries: 3, changed: true };
    },
    readers: [],
    publish: async (reply) => {
      published.push(reply);
    },
    logger: testLogger(),
    ...overrides,
  });
  return { handler, published, calls };
}

const command = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('CommandHandler', () => {
  it('resync passes args.includeRejected through, and refuses one that is not a boolean', async () => {
    const { handler, calls } = rig();
    expect(await handler.handle(command({ requestId: 'r-a', command: 'resync', args: { includeRejected: true } }))).toMatchObject({ ok: true });
    expect(await handler.handle(command({ requestId: 'r-b', command: 'resync', args: { includeRejected: 'yes' } }))).toEqual({ requestId: 'r-b', ok: false, error: 'args.includeRejected must be true or false' });
    expect(calls).toEqual(['resync+rejected']);
  });

  it('resync calls the injected function and replies ok with its result', async () => {
    const { handler, published, calls } = rig();
    const reply = await handler.handle(command({ requestId: 'r-1', command: 'resync' }));
    expect(reply).toEqual({ requestId: 'r-1', ok: true, result: { pending: 12 } });
    expect(published).toEqual([reply]);
    expect(calls).toEqual(['resync']);
  });

  it('reload calls the injected function; a function returning nothing gives a reply without result', async () => {
    const { handler, published } = rig();
    expect(await handler.handle(command({ requestId: 'r-2', command: 'reload', args: {} }))).toEqual({ requestId: 'r-2', ok: true, result: { entries: 3, changed: true } });
    const quiet = rig({ reload: async () => undefined });
    expect(await quiet.handler.handle(command({ requestId: 'r-3', command: 'reload' }))).toEqual({ requestId: 'r-3', ok: true });
    expect(published).toHaveLength(1);
  });

  it('a command whose function fails replies ok:false with the reason', async () => {
    const { handler, published } = rig({
      reload: async () => {
        throw new Error('the pushed config v4 is in force; the local rosterFile is not used');
      },
    });
    expect(await handler.handle(command({ requestId: 'r-4', command: 'reload' }))).toEqual({
      requestId: 'r-4',
      ok: false,
      error: 'the pushed config v4 is in force; the local rosterFile is not used',
    });
    expect(published).toHaveLength(1);
  });

  it('identify sends {kind: identify} to every reader and counts those that took it', async () => {
    const readers = [reader('door-1', 'takes'), reader('door-2', 'refuses'), reader('door-3', 'takes')];
    const { handler } = rig({ readers });
    expect(await handler.handle(command({ requestId: 'r-5', command: 'identify' }))).toEqual({
      requestId: 'r-5',
      ok: true,
      result: { readers: 3, acknowledged: 2, notAcknowledged: ['door-2'] },
    });
    expect(readers.map((one) => one.got)).toEqual([[{ kind: 'identify' }], [{ kind: 'identify' }], [{ kind: 'identify' }]]);
  });

  it('identify takes the readers from a function (the current ones) and answers with none', async () => {
    let current = [reader('door-1', 'takes')];
    const { handler } = rig({ readers: () => current });
    expect((await handler.handle(command({ requestId: 'r-6', command: 'identify' })))?.result).toEqual({ readers: 1, acknowledged: 1, notAcknowledged: [] });
    current = [];
    expect((await handler.handle(command({ requestId: 'r-7', command: 'identify' })))?.result).toEqual({ readers: 0, acknowledged: 0, notAcknowledged: [] });
  });

  it('identify still answers when a driver breaks its promise (hangs or throws)', async () => {
    const { handler } = rig({ readers: [reader('door-1', 'hangs'), reader('door-2', 'throws'), reader('door-3', 'takes')], identifyTimeoutMs: 50 });
    expect((await handler.handle(command({ requestId: 'r-8', command: 'identify' })))?.result).toEqual({ readers: 3, acknowledged: 1, notAcknowledged: ['door-1', 'door-2'] });
  });

  it('an unknown command is answered ok:false "unknown command"', async () => {
    const { handler, published, calls } = rig();
    expect(await handler.handle(command({ requestId: 'r-9', command: 'reboot' }))).toEqual({ requestId: 'r-9', ok: false, error: 'unknown command "reboot"' });
    expect(published).toHaveLength(1);
    expect(calls).toEqual([]);
  });

  it('a malformed command with a requestId is answered ok:false with the field and reason', async () => {
    const { handler, calls } = rig();
    expect(await handler.handle(command({ requestId: 'r-10', command: 42 }))).toMatchObject({ requestId: 'r-10', ok: false, error: expect.stringMatching(/^malformed command: command: /) });
    expect(await handler.handle(command({ requestId: 'r-11' }))).toMatchObject({ ok: false, error: expect.stringMatching(/^malformed command: command: /) });
    expect(await handler.handle(command({ requestId: 'r-12', command: 'resync', args: [1] }))).toMatchObject({ ok: false, error: expect.stringMatching(/^malformed command: args: /) });
    expect(calls).toEqual([]);
  });

  it('a payload without a usable requestId is logged and dropped: no reply', async () => {
    const { handler, published, calls } = rig();
    for (const bad of [Buffer.from('{"requestId": "r-13", "command": "resync"'), Buffer.from('"resync"'), Buffer.from('null'), command({ command: 'resync' }), command({ requestId: '', command: 'resync' }), command({ requestId: 'x'.repeat(65), command: 'resync' }), command({ requestId: 7, command: 'resync' })]) {
      expect(await handler.handle(bad)).toBeUndefined();
    }
    expect(published).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('a redelivered command (same requestId) is answered again without running it again', async () => {
    const { handler, published, calls } = rig();
    const first = await handler.handle(command({ requestId: 'r-14', command: 'resync' }));
    const again = await handler.handle(command({ requestId: 'r-14', command: 'resync' }));
    expect(again).toEqual(first);
    expect(published).toEqual([first, first]);
    expect(calls).toEqual(['resync']);
  });

  it('a reply that cannot be published is logged; the handler still resolves with it', async () => {
    const { handler } = rig({
      publish: async () => {
        throw new Error('client is offline');
      },
    });
    expect(await handler.handle(command({ requestId: 'r-15', command: 'resync' }))).toEqual({ requestId: 'r-15', ok: true, result: { pending: 12 } });
  });

  it('a result that is not an object is a failed command, not a broken reply', async () => {
    const { handler } = rig({ resync: async () => [1, 2] as unknown as Record<string, unknown> });
    expect(await handler.handle(command({ requestId: 'r-16', command: 'resync' }))).toEqual({ requestId: 'r-16', ok: false, error: 'resync returned a result that is not an object' });
  });
});
