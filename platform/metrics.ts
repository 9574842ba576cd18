import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/**
 * Prometheus helpers both processes use (prom-client). Every metric here is made on a registry
 * passed in, never on prom-client's global default one: the demo runs a gateway and a dashboard in
 * one process, and tests start dozens of each, so each part has its own registry and its own
 * /metrics. See docs/metrics.md.
 */

export interface MetricsRegistryOptions {
  /**
   * Add prom-client's process metrics (CPU, memory, event loop lag, GC, file descriptors) with
   * `collectDefaultMetrics`. They cannot be stopped again (prom-client keeps a GC observer and an
   * event-loop-delay monitor for the life of the process), so only entry points that run one part
   * for the life of the process (`punchgate gateway`, `punchgate dashboard`, the demo) ask for them.
   */
  processMetrics?: boolean;
}

/** A new registry, optionally with the process metrics (see {@link MetricsRegistryOptions}). */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/** One labelled value of a metric read from a part at scrape time. */
export type Sample<L extends string> = readonly [labels: Readonly<Record<L, string>>, value: number];

/**
 * A counter whose values are a part's own running counts, read at scrape time (the ingest's, the
 * uplink's, the reader's): the part keeps counting in plain numbers, with no prom-client on its
 * hot path, and this reports them as Prometheus counters (monotonic for the life of the part, so
 * rate() and increase() work; a restart starts again from 0, which Prometheus handles as a reset).
 */
export function sourcedCounter<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames?: readonly L[] },
  read: () => Iterable<Sample<L>> | Promise<Iterable<Sample<L>>>,
): Counter<L> {
  return new Counter<L>({
    name: config.name,
    help: config.help,
    labelNames: config.labelNames ?? [],
    registers: [registry],
    async collect() {
      const samples = await read();
      this.reset();
      for (const [labels, value] of samples) {
        if (Number.isFinite(value) && value >= 0) this.inc(labels as Partial<Record<L, string>>, value);
      }
    },
  });
}

/**
 * A gauge whose values are read at scrape time. Series not returned by `read` this time are
 * dropped (a removed reader, a deleted device), so the exposition never shows stale series.
 */
export function sourcedGauge<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames?: readonly L[] },
  read: () => Iterable<Sample<L>> | Promise<Iterable<Sample<L>>>,
): Gauge<L> {
  return new Gauge<L>({
    name: config.name,
    help: config.help,
    labelNames: config.labelNames ?? [],
    registers: [registry],
    async collect() {
      const samples = await read();
      this.reset();
      for (const [labels, value] of samples) this.set(labels as Partial<Record<L, string>>, value);
    },
  });
}

/**
 * A state as a "one-hot" set of samples, the Prometheus way to expose an enum: one series per
 * known state, 1 for the current one and 0 for the others, so `metric{state="x"} == 1` selects
 * what is in state x and a state change never leaves a stale series behind. A current state not
 * among `states` is reported too (so nothing is hidden), with value 1.
 */
export function oneHot<L extends string, S extends L>(
  stateLabel: S,
  states: readonly string[],
  current: string,
  labels: Readonly<Record<Exclude<L, S>, string>>,
): Array<Sample<L>> {
  const all = states.includes(current) ? states : [...states, current];
  return all.map((state) => [{ ...labels, [stateLabel]: state } as Record<L, string>, state === current ? 1 : 0] as const);
}

/**
 * Memoises an asynchronous read for the duration of one scrape: prom-client collects every metric
 * of a registry concurrently, so several gauges fed from one query (the outbox, the device list)
 * share the query in progress instead of running it once each. The next scrape reads afresh.
 */
export function perScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (!pending) {
      pending = read();
      const clear = (): void => {
        pending = undefined;
      };
      pending.then(clear, clear);
    }
    return pending;
  };
}
