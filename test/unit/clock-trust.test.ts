import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClockTrust, readSyncOutput, runSyncCommand, type ClockSyncedEvent, type ClockTrustState, type SyncCommandRunner, type SyncReading } from '../../gateway/clock-trust.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { waitFor } from '../support/wait.js';

const logger = testLogger();
const TIMEDATECTL = ['timedatectl', 'show', '-p', 'NTPSynchronized', '--value'];

/** A runner answering from a queue (the last answer repeats), recording each call. */
function scriptedRunner(...answers: SyncReading[]): SyncCommandRunner & { calls: Array<readonly string[]>; answers: SyncReading[] } {
  const runner = Object.assign(
    async (command: readonly string[]) => {
      runner.calls.push(command);
      return (runner.answers.length > 1 ? runner.answers.shift() : runner.answers[0]) ?? { kind: 'failed', reason: 'no answer scripted' };
    },
    { calls: [] as Array<readonly string[]>, answers },
  );
  return runner;
}

function recordEvents(trust: ClockTrust): { synced: ClockSyncedEvent[]; changes: ClockTrustState[]; checks: ClockTrustState[] } {
  const events = { synced: [] as ClockSyncedEvent[], changes: [] as ClockTrustState[], checks: [] as ClockTrustState[] };
  trust.on('synced', (event) => events.synced.push(event));
  trust.on('change', (state) => events.changes.push(state));
  trust.on('checked', (state) => events.checks.push(state));
  return events;
}

describe('readSyncOutput', () => {
  it('reads yes and no in any case with blanks around, and nothing else', () => {
    expect(readSyncOutput('yes\n')).toEqual({ kind: 'synced' });
    expect(readSyncOutput('  YES ')).toEqual({ kind: 'synced' });
    expect(readSyncOutput('no\n')).toEqual({ kind: 'unsynced' });
    expect(readSyncOutput('')).toEqual({ kind: 'failed', reason: 'printed nothing' });
    expect(readSyncOutput('maybe\nlater')).toEqual({ kind: 'failed', reason: 'printed "maybe", not yes or no' });
    expect(readSyncOutput('yes please')).toMatchObject({ kind: 'failed' });
  });
});

describe('ClockTrust with an injected runner', () => {
  let trust: ClockTrust | undefined;
  afterEach(async () => {
    await trust?.stop();
    trust = undefined;
  });

  function make(runner: SyncCommandRunner, base = new ManualClock('2026-11-23T00:59:00.000Z'), syncCommand: readonly string[] | null = TIMEDATECTL): ClockTrust {
    trust = new ClockTrust({ syncCommand, checkIntervalMs: 3_600_000, logger, base, run: runner });
    return trust;
  }

  it('is unchecked and unsynced before start, and start() waits for the first check', async () => {
    const runner = scriptedRunner({ kind: 'synced' });
    const clock = make(runner);
    expect(clock.synced()).toBe(false);
    expect(clock.state()).toMatchObject({ synced: false, verdict: 'unchecked' });
    await clock.start();
    expect(runner.calls).toEqual([TIMEDATECTL]);
    expect(clock.state()).toMatchObject({ synced: true, verdict: 'synced', source: 'timedatectl: synchronised' });
  });

  it('passes time, monotonic time and boot id through from its base clock', async () => {
    const base = new ManualClock('2026-11-23T00:59:00.000Z');
    base.boot = 'boot-7';
    const clock = make(scriptedRunner({ kind: 'synced' }), base);
    base.advance(1234);
    expect(clock.now().toISOString()).toBe('2026-11-23T00:59:01.234Z');
    expect(clock.monotonicMs()).toBe(1_001_234);
    expect(clock.bootId()).toBe('boot-7');
  });

  it('emits synced with offset = wall - monotonic when it goes from unsynced to synced', async () => {
    const base = new ManualClock('1970-01-01T00:16:40.000Z');
    const runner = scriptedRunner({ kind: 'unsynced' });
    const clock = make(runner, base);
    const events = recordEvents(clock);
    await clock.start();
    expect(clock.state()).toMatchObject({ synced: false, verdict: 'unsynced', source: 'timedatectl: not synchronised', since: '1970-01-01T00:16:40.000Z' });
    expect(events.synced).toEqual([]);

    base.advance(5000);
    base.setWall('2026-11-23T00:59:00.000Z');
    runner.answers = [{ kind: 'synced' }];
    await clock.check();
    expect(clock.synced()).toBe(true);
    expect(events.synced).toEqual([{ offsetMs: Date.parse('2026-11-23T00:59:00.000Z') - 1_005_000, monoMs: 1_005_000, bootId: 'test-boot', at: '2026-11-23T00:59:00.000Z' }]);
    expect(clock.state().since).toBe('2026-11-23T00:59:00.000Z');
    expect(events.changes.map((state) => state.verdict)).toEqual(['unsynced', 'synced']);

    // Still synced: no second event.
    await clock.check();
    expect(events.synced).toHaveLength(1);
    expect(events.checks).toHaveLength(3);
  });

  it('treats a command that never answers as unverified: synced, with the reason, and no synced event', async () => {
    const runner = scriptedRunner({ kind: 'failed', reason: 'timedatectl exited 1: System has not been booted with systemd as init system (PID 1). Can\'t operate.' });
    const clock = make(runner);
    const events = recordEvents(clock);
    await clock.start();
    expect(clock.synced()).toBe(true);
    expect(clock.state()).toMatchObject({ verdict: 'unverified', source: "unverified: timedatectl exited 1: System has not been booted with systemd as init system (PID 1). Can't operate." });
    expect(events.synced).toEqual([]);

    // A later definite "yes" is a verified sync: the offset is now trustworthy.
    runner.answers = [{ kind: 'synced' }];
    await clock.check();
    expect(clock.state().verdict).toBe('synced');
    expect(events.synced).toHaveLength(1);
  });

  it('keeps a definite answer when the command later fails, both ways', async () => {
    const runner = scriptedRunner({ kind: 'unsynced' });
    const clock = make(runner);
    await clock.start();
    runner.answers = [{ kind: 'failed', reason: 'timedatectl timed out after 5000 ms' }];
    await clock.check();
    // Not vouching for a clock just said to be wrong.
    expect(clock.state()).toMatchObject({ synced: false, verdict: 'unsynced' });

    runner.answers = [{ kind: 'synced' }];
    await clock.check();
    const events = recordEvents(clock);
    runner.answers = [{ kind: 'failed', reason: 'timedatectl was not found' }];
    await clock.check();
    // Not flagging good punches for a hiccup, and no second synced event afterwards.
    expect(clock.state()).toMatchObject({ synced: true, verdict: 'synced' });
    runner.answers = [{ kind: 'synced' }];
    await clock.check();
    expect(events.synced).toEqual([]);
    expect(events.changes).toEqual([]);
  });

  it('goes back to unsynced when the command says no again', async () => {
    const runner = scriptedRunner({ kind: 'synced' });
    const clock = make(runner);
    await clock.start();
    runner.answers = [{ kind: 'unsynced' }];
    await clock.check();
    expect(clock.state()).toMatchObject({ synced: false, verdict: 'unsynced' });
  });

  it('counts a runner that rejects as a failed check', async () => {
    const clock = make(async () => {
      throw new Error('spawn went wrong');
    });
    await clock.start();
    expect(clock.state()).toMatchObject({ synced: true, verdict: 'unverified', source: 'unverified: spawn went wrong' });
  });

  it('with syncCommand null trusts the clock, runs nothing, and emits synced once at start', async () => {
    const runner = scriptedRunner({ kind: 'unsynced' });
    const clock = make(runner, undefined, null);
    const events = recordEvents(clock);
    await clock.start();
    await clock.check();
    expect(runner.calls).toEqual([]);
    expect(clock.state()).toMatchObject({ synced: true, verdict: 'trusted', source: 'trusted: clock.syncCommand is null' });
    expect(events.synced).toHaveLength(1);
    expect(events.synced[0]?.offsetMs).toBe(Date.parse('2026-11-23T00:59:00.000Z') - 1_000_000);
  });

  it('shares one run between concurrent checks', async () => {
    let release: () => void = () => undefined;
    let calls = 0;
    const clock = make(async () => {
      calls += 1;
      await new Promise<void>((resolve) => (release = resolve));
      return { kind: 'synced' };
    });
    const starting = clock.start();
    const again = clock.check();
    await waitFor('the first run', () => calls === 1);
    release();
    await Promise.all([starting, again]);
    expect(calls).toBe(1);
  });

  it('checks every interval until stop(), and drops a result that arrives after stop()', async () => {
    const runner = scriptedRunner({ kind: 'unsynced' });
    trust = new ClockTrust({ syncCommand: TIMEDATECTL, checkIntervalMs: 20, logger, base: new ManualClock('2026-11-23T00:59:00.000Z'), run: runner });
    const clock = trust;
    await clock.start();
    await waitFor('three more checks', () => runner.calls.length >= 4);
    await clock.stop();
    const after = runner.calls.length;
    await sleep(100);
    expect(runner.calls.length).toBe(after);

    // A check under way when stop() is called: stop waits for it, and its answer changes nothing.
    let release: () => void = () => undefined;
    const slow = new ClockTrust({
      syncCommand: TIMEDATECTL,
      checkIntervalMs: 10,
      logger,
      base: new ManualClock('2026-11-23T00:59:00.000Z'),
      run: async () => {
        await new Promise<void>((resolve) => (release = resolve));
        return { kind: 'synced' };
      },
    });
    const starting = slow.start();
    await sleep(10);
    let stopped = false;
    const stopping = slow.stop().then(() => (stopped = true));
    await sleep(20);
    expect(stopped).toBe(false);
    release();
    await Promise.all([starting, stopping]);
    expect(slow.state().verdict).toBe('unchecked');
  });
});

describe('ClockTrust running a real command (execFile)', () => {
  let dir: string;
  let answerFile: string;
  let trust: ClockTrust | undefined;

  /** A fake timedatectl: prints the answer file, or fails as on a box without systemd. */
  const fakeTimedatectl = `#!/bin/sh
if [ "$1 $2 $3 $4" != "show -p NTPSynchronized --value" ]; then echo "unexpected arguments: $*" >&2; exit 2; fi
answer=$(cat "$ANSWER_FILE")
case "$answer" in
  nosystemd) echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2; echo "Failed to connect to bus: Host is down" >&2; exit 1 ;;
  hang) exec sleep 30 ;;
  *) echo "$answer" ;;
esac
`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-clock-'));
    answerFile = path.join(dir, 'answer');
    await writeFile(path.join(dir, 'timedatectl'), fakeTimedatectl.replace('$ANSWER_FILE', answerFile));
    await chmod(path.join(dir, 'timedatectl'), 0o755);
    await writeFile(path.join(dir, 'not-executable'), '#!/bin/sh\necho yes\n');
    await chmod(path.join(dir, 'not-executable'), 0o644);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await trust?.stop();
    trust = undefined;
  });

  const answer = (text: string): Promise<void> => writeFile(answerFile, `${text}\n`);

  it('finds the default command first on PATH and follows its answers', async () => {
    await answer('no');
    const originalPath = process.env.PATH;
    process.env.PATH = `${dir}:${originalPath ?? ''}`;
    try {
      const synced: ClockSyncedEvent[] = [];
      trust = new ClockTrust({ syncCommand: TIMEDATECTL, checkIntervalMs: 3_600_000, logger });
      trust.on('synced', (event) => synced.push(event));
      await trust.start();
      expect(trust.state()).toMatchObject({ synced: false, verdict: 'unsynced', source: 'timedatectl: not synchronised' });
      await answer('yes');
      await trust.check();
      expect(trust.state()).toMatchObject({ synced: true, verdict: 'synced' });
      expect(synced).toHaveLength(1);
      // The real clocks: the offset is wall time minus CLOCK_MONOTONIC, so it lands near now.
      expect(Math.abs((synced[0]?.offsetMs ?? 0) + trust.monotonicMs() - Date.now())).toBeLessThan(1000);
    } finally {
      process.env.PATH = originalPath;
    }
  });

  it('a box without systemd (timedatectl exits 1) is unverified, not unsynced, and says why', async () => {
    await answer('nosystemd');
    trust = new ClockTrust({ syncCommand: [path.join(dir, 'timedatectl'), 'show', '-p', 'NTPSynchronized', '--value'], checkIntervalMs: 3_600_000, logger });
    await trust.start();
    expect(trust.synced()).toBe(true);
    expect(trust.state()).toMatchObject({
      verdict: 'unverified',
      source: `unverified: ${path.join(dir, 'timedatectl')} exited 1: System has not been booted with systemd as init system (PID 1). Can't operate.`,
    });
  });

  it('reports a missing command, a file that is not executable, odd output and wrong arguments', async () => {
    await answer('maybe');
    expect(await runSyncCommand([path.join(dir, 'no-such-command')], 1000)).toEqual({ kind: 'failed', reason: `${path.join(dir, 'no-such-command')} was not found` });
    expect(await runSyncCommand([path.join(dir, 'not-executable')], 1000)).toEqual({ kind: 'failed', reason: `${path.join(dir, 'not-executable')} is not executable` });
    expect(await runSyncCommand([path.join(dir, 'timedatectl'), 'show', '-p', 'NTPSynchronized', '--value'], 1000)).toEqual({ kind: 'failed', reason: 'printed "maybe", not yes or no' });
    expect(await runSyncCommand([path.join(dir, 'timedatectl'), 'status'], 1000)).toEqual({ kind: 'failed', reason: `${path.join(dir, 'timedatectl')} exited 2: unexpected arguments: status` });
    expect(await runSyncCommand([], 1000)).toEqual({ kind: 'failed', reason: 'the command is empty' });
  });

  it('kills a command that hangs after the timeout and counts it as failed', async () => {
    await answer('hang');
    const started = Date.now();
    const reading = await runSyncCommand([path.join(dir, 'timedatectl'), 'show', '-p', 'NTPSynchronized', '--value'], 200);
    expect(reading).toEqual({ kind: 'failed', reason: `${path.join(dir, 'timedatectl')} timed out after 200 ms` });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("runs this machine's own timedatectl (when there is one) without ever leaving the clock unchecked", async () => {
    trust = new ClockTrust({ syncCommand: TIMEDATECTL, checkIntervalMs: 3_600_000, logger });
    await trust.start();
    const state = trust.state();
    expect(['synced', 'unsynced', 'unverified']).toContain(state.verdict);
    // Without systemd (as in containers) timedatectl exits 1: unverified, and punches are not flagged.
    if (state.verdict === 'unverified') expect(state.synced).toBe(true);
  });

  it('a missing command at start leaves the clock unverified but usable', async () => {
    trust = new ClockTrust({ syncCommand: ['punchgate-no-such-timedatectl', 'show'], checkIntervalMs: 3_600_000, logger });
    await trust.start();
    expect(trust.state()).toMatchObject({ synced: true, verdict: 'unverified', source: 'unverified: punchgate-no-such-timedatectl was not found' });
  });
});
