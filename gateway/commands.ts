import type { Logger } from 'pino';
import { describeIssues } from '../core/errors.js';
import { CommandReply, DeviceCommand } from '../core/messages.js';
import type { ReaderDriver } from '../firmware-bridge/reader-driver.js';

/** What a command handler returns: the reply's `result` (JSON-serialisable), or nothing. */
export type CommandResult = Record<string, unknown> | void;

export interface CommandDependencies {
  /**
   * `resync`: e.g. check the clock now and wake the uplink to send its backlog; with
   * `includeRejected`, punches the server refused are sent again too (after a fix on its side).
   */
  resync: (options: { includeRejected: boolean }) => Promise<CommandResult>;
  /** `reload`: re-read the local roster file (see reloadRosterFile). */
  reload: () => Promise<CommandResult>;
  /** `identify`: the readers to blink and beep, as a list or as a function giving the current ones. */
  readers: readonly Pick<ReaderDriver, 'id' | 'feedback'>[] | (() => readonly Pick<ReaderDriver, 'id' | 'feedback'>[]);
  /** Sends a reply on `devices/{deviceId}/replies`. */
  publish: (reply: CommandReply) => Promise<void>;
  logger: Logger;
  /** A reader that has not taken the identify feedback after this long counts as not having taken it. */
  identifyTimeoutMs?: number;
}

/** QoS 1 delivers at least once: a command seen again within this many requests is answered, not run, again. */
const REMEMBERED_REQUESTS = 64;
const DEFAULT_IDENTIFY_TIMEOUT_MS = 5000;

/**
 * Remote commands from the dashboard (`devices/{deviceId}/commands`). Every command that carries a
 * requestId gets exactly one kind of answer: ok with a result, or not ok with the reason. A payload
 * without a usable requestId cannot be answered, so it is logged and dropped.
 */
export class CommandHandler {
  private readonly recent = new Map<string, Promise<CommandReply>>();

  constructor(private readonly deps: CommandDependencies) {}

  /** Handles one payload; resolves with the reply that was published (undefined when none could be). */
  async handle(payload: Buffer | Uint8Array | string): Promise<CommandReply | undefined> {
    const { logger } = this.deps;
    const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      logger.warn({ reason: (error as Error).message, bytes: text.length }, 'command is not JSON; ignored (no requestId to answer)');
      return undefined;
    }
    const requestId = requestIdOf(raw);
    if (requestId === undefined) {
      logger.warn({ payload: preview(text) }, 'command without a usable requestId; ignored');
      return undefined;
    }
    let reply = this.recent.get(requestId);
    if (reply) {
      logger.info({ requestId }, 'command seen again (redelivery); answering again without running it');
    } else {
      reply = this.run(requestId, raw);
      this.remember(requestId, reply);
    }
    const answer = await reply;
    try {
      await this.deps.publish(answer);
    } catch (error) {
      logger.error({ err: error, requestId }, 'could not publish the command reply');
    }
    return answer;
  }

  private async run(requestId: string, raw: unknown): Promise<CommandReply> {
    const { logger } = this.deps;
    const name = (raw as { command?: unknown }).command;
    if (typeof name === 'string' && !DeviceCommand.shape.command.options.some((known) => known === name)) {
      logger.warn({ requestId, command: name }, 'unknown command');
      return { requestId, ok: false, error: `unknown command "${name.slice(0, 64)}"` };
    }
    const parsed = DeviceCommand.safeParse(raw);
    if (!parsed.success) {
      const error = describeIssues(parsed.error).join('; ');
      logger.warn({ requestId, error }, 'malformed command');
      return { requestId, ok: false, error: `malformed command: ${error}` };
    }
    const command = parsed.data;
    logger.info({ requestId, command: command.command }, 'command');
    try {
      const result = await this.dispatch(command);
      if (result !== undefined && (typeof result !== 'object' || result === null || Array.isArray(result))) {
        throw new Error(`${command.command} returned a result that is not an object`);
      }
      return CommandReply.parse({ requestId, ok: true, ...(result ? { result } : {}) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.warn({ requestId, command: command.command, err: error }, 'command failed');
      return { requestId, ok: false, error: message };
    }
  }

  private dispatch(command: DeviceCommand): Promise<CommandResult> {
    switch (command.command) {
      case 'resync': {
        const includeRejected = command.args?.includeRejected;
        if (includeRejected !== undefined && typeof includeRejected !== 'boolean') throw new Error('args.includeRejected must be true or false');
        return this.deps.resync({ includeRejected: includeRejected === true });
      }
      case 'reload':
        return this.deps.reload();
      case 'identify':
        return this.identify();
    }
  }

  /** Every reader gets {kind: 'identify'}; the result says how many took it. */
  private async identify(): Promise<CommandResult> {
    const readers = typeof this.deps.readers === 'function' ? this.deps.readers() : this.deps.readers;
    const timeoutMs = this.deps.identifyTimeoutMs ?? DEFAULT_IDENTIFY_TIMEOUT_MS;
    const taken = await Promise.all(readers.map((reader) => withTimeout(Promise.resolve().then(() => reader.feedback({ kind: 'identify' })), timeoutMs)));
    const notTaken = readers.filter((_, index) => !taken[index]).map((reader) => reader.id);
    return { readers: readers.length, acknowledged: readers.length - notTaken.length, notAcknowledged: notTaken };
  }

  private remember(requestId: string, reply: Promise<CommandReply>): void {
    this.recent.set(requestId, reply);
    if (this.recent.size > REMEMBERED_REQUESTS) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}

function requestIdOf(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const parsed = DeviceCommand.shape.requestId.safeParse((raw as { requestId?: unknown }).requestId);
  return parsed.success ? parsed.data : undefined;
}

/** A driver promises never to reject and always to settle; a broken one still must not hang the reply. */
async function withTimeout(feedback: Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([feedback.catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function preview(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
