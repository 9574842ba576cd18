import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { waitForDrain } from './output-stream.js';

/**
 * Backpressure for exceljs's streaming writer, which has none of its own: a committed row goes into
 * the sheet's buffer stream, which writes on into the zip entry without ever waiting, so with a slow
 * `out` (a download over a poor link) the rows would pile up in memory. Measured: 100,000 rows into
 * a slow reader left ~26 MB buffered; with this wait, none.
 *
 * The buffer stream (`worksheet.stream`, exceljs's StreamBuf) keeps what it writes into in `pipes`;
 * that is a stream with the usual needDrain flag, which tells when the zip and `out` have fallen
 * behind. These are exceljs internals (4.4), so they are read defensively: if they ever change, the
 * writer still waits for `out`, and the streaming test (bytes reach `out` before the last row is
 * produced) fails and says so.
 */
export async function keepPace(sheet: object, out: Writable): Promise<void> {
  if (out.writableNeedDrain) await waitForDrain(out);
  const sink = zipEntrySink(sheet);
  if (sink?.needsDrain()) await waitForDrain(sink.stream, [out]);
}

interface Sink {
  stream: EventEmitter;
  needsDrain(): boolean;
}

function zipEntrySink(sheet: object): Sink | undefined {
  const bufferStream = 'stream' in sheet ? sheet.stream : undefined;
  if (typeof bufferStream !== 'object' || bufferStream === null || !('pipes' in bufferStream)) return undefined;
  const pipes = bufferStream.pipes;
  if (!Array.isArray(pipes)) return undefined;
  const first: unknown = pipes[0];
  if (!isEmitter(first)) return undefined;
  return { stream: first, needsDrain: () => needDrainOf(first) };
}

function isEmitter(value: unknown): value is EventEmitter {
  return typeof value === 'object' && value !== null && 'once' in value && typeof value.once === 'function' && 'off' in value;
}

/** Node streams say writableNeedDrain; the readable-stream copy archiver uses keeps it in _writableState. */
function needDrainOf(stream: EventEmitter): boolean {
  if ('writableNeedDrain' in stream && typeof stream.writableNeedDrain === 'boolean') return stream.writableNeedDrain;
  const state = '_writableState' in stream ? stream._writableState : undefined;
  return typeof state === 'object' && state !== null && 'needDrain' in state && state.needDrain === true;
}
