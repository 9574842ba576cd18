import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * The writers report a failure through their promise. Destroying `out` with that error makes it
 * emit 'error', which would crash the process if the caller had not listened for it; this listener
 * is there so that it never does. It stays on `out`, which is finished either way.
 */
export function reportErrorsThroughPromise(out: Writable): void {
  out.on('error', () => {});
}

/** Why `out` can take no more bytes, or undefined while it can. */
export function outputFailure(out: Writable): Error | undefined {
  if (out.errored) return out.errored;
  if (out.destroyed || out.writableEnded) return new Error('the report output was closed before the report was finished');
  return undefined;
}

/** Ends an export that failed: `out` is destroyed with the error, so nobody takes a cut-off file for a whole one. */
export function failOutput(out: Writable, error: unknown): Error {
  const failure = error instanceof Error ? error : new Error(String(error));
  if (!out.destroyed) out.destroy(failure);
  return failure;
}

/**
 * Resolves when a stream that asked the writer to wait ('drain') takes bytes again; rejects if it,
 * or any stream in `alsoWatch`, fails or closes first. Watching `out` matters when the stream waited
 * on sits in front of it (exceljs's zip): if `out` dies, that stream never drains.
 */
export function waitForDrain(stream: EventEmitter, alsoWatch: EventEmitter[] = []): Promise<void> {
  const watched = [stream, ...alsoWatch.filter((other) => other !== stream)];
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      stream.off('drain', onDrain);
      for (const each of watched) {
        each.off('error', onError);
        each.off('close', onClose);
      }
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onError = (error: Error): void => settle(error);
    const onClose = (): void => settle(new Error('the report output was closed before the report was finished'));
    stream.on('drain', onDrain);
    for (const each of watched) {
      each.on('error', onError);
      each.on('close', onClose);
    }
  });
}
