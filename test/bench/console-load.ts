/**
 * The console bench's load, in its own process (spawned by console.ts with `node --import tsx`,
 * talking over IPC): simulated gateways (mqtt.js clients logged in with their device secrets)
 * publishing punches at a given total rate, and SSE clients reading the dashboard's live feed over
 * real HTTP, as browsers would. In a process of its own, its event loop is not the dashboard's:
 * a receive time is when the bytes reached a client, not when the dashboard's loop was free.
 *
 * Times are `performance.timeOrigin + performance.now()` (ms since the epoch, sub-ms); the parent
 * measures this process's offset to its own clock with IPC ping-pongs and converts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { newBatchId, newPunchId } from '../../core/ids.js';
import type { Punch } from '../../core/punch.js';
import { deviceTopic } from '../../core/topics.js';
import { prng } from '../support/prng.js';
import { SseClient } from '../support/sse.js';

export interface LoadGateway {
  id: string;
  siteId: string;
  secret: string;
  /** Employees at the gateway's site: [employee id, em4100 uid]. */
  badges: Array<[string, string]>;
}

export interface PhaseRequest {
  type: 'phase';
  name: string;
  url: string;
  token: string;
  clients: number;
  warmupS: number;
  seconds: number;
  rate: number;
  seed: number;
  /** Share of sends that are a batch (a gateway catching up) rather than a single tap. */
  batchShare: number;
  batchMin: number;
  batchMax: number;
}

export type ParentMessage = { type: 'ping'; t0: number } | { type: 'setup'; brokerUrl: string; gateways: LoadGateway[] } | PhaseRequest | { type: 'stop' };

export interface PhaseData {
  name: string;
  /** [punch id, gateway index, publish time, batch size, 1 if inside the measured window] */
  punches: Array<[string, number, number, number, number]>;
  /** [punch id, batch id] */
  batchOf: Array<[string, string]>;
  /** [batch id, ack received at the gateway] */
  acks: Array<[string, number]>;
  /** Per SSE client: [punch id, received, committedAt (ms since the epoch, from the event)] */
  received: Array<Array<[string, number, number]>>;
  /** `dropped` events the clients saw, and other event kinds */
  dropped: number;
  otherEvents: Record<string, number>;
  windowStart: number;
  windowEnd: number;
  /** Sends (MQTT messages) made, and the schedule's lag: how late a send went out after it was due. */
  sends: number;
  sendLagMs: { p50: number; p99: number; max: number };
  missing: number;
}

export type ChildMessage =
  | { type: 'pong'; t0: number; tc: number }
  | { type: 'ready'; connectMs: number }
  | { type: 'window-start' }
  | { type: 'window-end' }
  | { type: 'phase-done'; data: PhaseData }
  | { type: 'error'; message: string };

const clock = (): number => performance.timeOrigin + performance.now();
const send = (message: ChildMessage): void => {
  process.send?.(message);
};

let gateways: LoadGateway[] = [];
let clients: MqttClient[] = [];
const seqs: number[] = [];
const acks = new Map<string, number>();

async function setup(brokerUrl: string, list: LoadGateway[]): Promise<void> {
  gateways = list;
  const started = clock();
  clients = await Promise.all(
    list.map((gateway) => mqtt.connectAsync(brokerUrl, { clientId: gateway.id, username: gateway.id, password: gateway.secret, clean: true, reconnectPeriod: 0, protocolVersion: 4 })),
  );
  await Promise.all(
    clients.map(async (client, index) => {
      const gateway = list[index] as LoadGateway;
      seqs[index] = 1_000_000;
      client.on('message', (topic, payload) => {
        const at = clock();
        // The ack's batchId is its first field: no need to parse the whole ack on the hot path.
        const text = payload.toString('latin1', 0, 60);
        const match = /"batchId":"([0-9a-f-]{36})"/.exec(text);
        if (match?.[1]) acks.set(match[1], at);
      });
      await client.subscribeAsync(deviceTopic(gateway.id, 'acks'), { qos: 1 });
    }),
  );
  send({ type: 'ready', connectMs: clock() - started });
}

function percentileOf(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

async function phase(request: PhaseRequest): Promise<void> {
  const random = prng(request.seed);
  const sse: SseClient[] = [];
  for (let index = 0; index < request.clients; index += 1) {
    const client = await SseClient.open(`${request.url}/api/v1/punches/live`, { authorization: `Bearer ${request.token}` });
    if (client.status !== 200) throw new Error(`live feed answered ${client.status}: ${client.comments.join(' ')}`);
    sse.push(client);
  }
  await Promise.all(sse.map((client) => client.waitForEvents('ready', 1, 10_000)));

  // A Poisson schedule of sends over warm-up + window: mostly single taps, some batches.
  const meanBatch = 1 - request.batchShare + (request.batchShare * (request.batchMin + request.batchMax)) / 2;
  const sendRate = request.rate / meanBatch;
  const totalS = request.warmupS + request.seconds;
  const schedule: Array<{ at: number; gateway: number; size: number }> = [];
  for (let at = -Math.log(1 - random()) / sendRate; at < totalS; at += -Math.log(1 - random()) / sendRate) {
    const size = random() < request.batchShare ? request.batchMin + Math.floor(random() * (request.batchMax - request.batchMin + 1)) : 1;
    schedule.push({ at: at * 1000, gateway: Math.floor(random() * gateways.length), size });
  }

  const punches: PhaseData['punches'] = [];
  const batchOf: PhaseData['batchOf'] = [];
  const lags: number[] = [];
  const batches: string[] = [];
  const start = clock();
  const windowStart = start + request.warmupS * 1000;
  const windowEnd = start + totalS * 1000;
  let windowOpen = false;
  for (const item of schedule) {
    for (;;) {
      const now = clock();
      if (!windowOpen && now >= windowStart) {
        windowOpen = true;
        send({ type: 'window-start' });
      }
      const wait = start + item.at - now;
      if (wait <= 0) break;
      await sleep(Math.max(1, Math.floor(wait)));
    }
    const gateway = gateways[item.gateway] as LoadGateway;
    const client = clients[item.gateway] as MqttClient;
    const list: Punch[] = [];
    const taps = clock();
    for (let index = 0; index < item.size; index += 1) {
      const [employeeId, uid] = gateway.badges[Math.floor(random() * gateway.badges.length)] as [string, string];
      seqs[item.gateway] = (seqs[item.gateway] ?? 0) + 1;
      list.push({
        id: newPunchId(),
        deviceId: gateway.id,
        siteId: gateway.siteId,
        credential: { kind: 'em4100', uid },
        employeeId,
        at: new Date(taps - (item.size - 1 - index) * 1000).toISOString(),
        clock: { synced: true },
        method: 'badge',
        direction: 'auto',
        seq: seqs[item.gateway] as number,
      });
    }
    const batchId = newBatchId();
    // batchId first: the parent reads it from the payload's first bytes.
    const payload = JSON.stringify({ batchId, deviceId: gateway.id, punches: list });
    const at = clock();
    lags.push(at - (start + item.at));
    const measured = at >= windowStart ? 1 : 0;
    for (const punch of list) {
      punches.push([punch.id, item.gateway, at, item.size, measured]);
      batchOf.push([punch.id, batchId]);
    }
    batches.push(batchId);
    client.publish(deviceTopic(gateway.id, 'punches'), payload, { qos: 1 });
  }
  while (clock() < windowEnd) await sleep(Math.max(1, Math.floor(windowEnd - clock())));
  send({ type: 'window-end' });

  // Every client must see every punch (the warm-up's too).
  const ids = new Set(punches.map(([id]) => id));
  const seen = (client: SseClient): number => client.events.filter((event) => event.event === 'punch').length;
  const deadline = clock() + 15_000;
  while (clock() < deadline && (sse.some((client) => seen(client) < ids.size) || batches.some((batch) => !acks.has(batch)))) await sleep(20);

  const received: PhaseData['received'] = [];
  const otherEvents: Record<string, number> = {};
  let dropped = 0;
  let missing = 0;
  for (const client of sse) {
    const list: Array<[string, number, number]> = [];
    const got = new Set<string>();
    for (const event of client.events) {
      if (event.event === 'punch') {
        const data = JSON.parse(event.data) as { punch: { id: string }; committedAt: string };
        if (!ids.has(data.punch.id)) continue;
        got.add(data.punch.id);
        list.push([data.punch.id, performance.timeOrigin + event.receivedAt, Date.parse(data.committedAt)]);
      } else {
        otherEvents[event.event] = (otherEvents[event.event] ?? 0) + 1;
        if (event.event === 'dropped') dropped += (JSON.parse(event.data) as { dropped: number }).dropped;
      }
    }
    missing += ids.size - got.size;
    received.push(list);
  }
  for (const client of sse) await client.close();
  send({
    type: 'phase-done',
    data: {
      name: request.name,
      punches,
      batchOf,
      acks: batches.map((batch) => [batch, acks.get(batch) ?? Number.NaN]),
      received,
      dropped,
      otherEvents,
      windowStart,
      windowEnd,
      sends: schedule.length,
      sendLagMs: { p50: percentileOf(lags, 50), p99: percentileOf(lags, 99), max: Math.max(...lags) },
      missing,
    },
  });
}

process.on('message', (raw) => {
  const message = raw as ParentMessage;
  const fail = (error: unknown): void => send({ type: 'error', message: (error as Error).stack ?? String(error) });
  if (message.type === 'ping') send({ type: 'pong', t0: message.t0, tc: clock() });
  else if (message.type === 'setup') setup(message.brokerUrl, message.gateways).catch(fail);
  else if (message.type === 'phase') phase(message).catch(fail);
  else if (message.type === 'stop') {
    void Promise.all(clients.map((client) => client.endAsync())).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
