import { waitFor } from './wait.js';

/** One server-sent event as a client sees it, with when it arrived (performance.now() and Date.now()). */
export interface ReceivedEvent {
  event: string;
  id: string | undefined;
  data: string;
  receivedAt: number;
  receivedWallMs: number;
}

/**
 * A server-sent-events client over real HTTP: node's fetch, reading the response body as it
 * streams, parsing events (`event:`, `id:`, `data:`) and comment lines (`: ...`) as they come.
 */
export class SseClient {
  readonly events: ReceivedEvent[] = [];
  readonly comments: string[] = [];
  private buffer = '';
  private reading: Promise<void> = Promise.resolve();
  ended = false;

  private constructor(
    readonly status: number,
    private readonly abort: AbortController,
  ) {}

  static async open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const abort = new AbortController();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    const client = new SseClient(response.status, abort);
    if (!response.ok || !response.body) {
      client.comments.push(await response.text());
      client.ended = true;
      return client;
    }
    client.reading = client.read(response.body);
    return client;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        const receivedAt = performance.now();
        const receivedWallMs = Date.now();
        this.buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          this.parse(block, receivedAt, receivedWallMs);
        }
      }
    } catch {
      // Aborted by close(), or the server went away.
    } finally {
      this.ended = true;
    }
  }

  private parse(block: string, receivedAt: number, receivedWallMs: number): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    let any = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('event: ')) ((event = line.slice(7)), (any = true));
      else if (line.startsWith('id: ')) ((id = line.slice(4)), (any = true));
      else if (line.startsWith('data: ')) (data.push(line.slice(6)), (any = true));
    }
    if (any) this.events.push({ event, id, data: data.join('\n'), receivedAt, receivedWallMs });
  }

  /** Events of one type, their data parsed as JSON. */
  of<T = Record<string, unknown>>(event: string): Array<ReceivedEvent & { json: T }> {
    return this.events.filter((e) => e.event === event).map((e) => ({ ...e, json: JSON.parse(e.data) as T }));
  }

  async waitForEvents(event: string, count: number, timeoutMs = 10_000): Promise<Array<ReceivedEvent & { json: Record<string, unknown> }>> {
    await waitFor(`${count} "${event}" events`, () => this.of(event).length >= count, timeoutMs);
    return this.of(event);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.reading;
  }
}
