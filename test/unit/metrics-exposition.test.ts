import { Counter, Histogram } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, oneHot, perScrape, sourcedCounter, sourcedGauge } from '../../platform/metrics.js';
import { ExpositionError, parseExposition, samplesOf, valueOf } from '../support/prometheus-text.js';

/**
 * The test parser of the Prometheus text format (test/support/prometheus-text.ts) against what
 * prom-client really writes, and against malformed text; and the platform/metrics.ts helpers.
 */
describe('Prometheus text exposition parser', () => {
  it('reads what prom-client writes: counters, gauges, a histogram, escaped label values', async () => {
    const registry = createMetricsRegistry();
    const counter = new Counter({ name: 't_requests_total', help: 'Requests\\with a "backslash"\nand a newline', labelNames: ['path'], registers: [registry] });
    counter.inc({ path: '/a"b\\c\nd' }, 3);
    counter.inc({ path: '/plain' });
    const histogram = new Histogram({ name: 't_duration_seconds', help: 'Durations', labelNames: ['route'], buckets: [0.1, 1], registers: [registry] });
    histogram.observe({ route: '/x' }, 0.05);
    histogram.observe({ route: '/x' }, 0.5);
    histogram.observe({ route: '/x' }, 5);
    sourcedGauge(registry, { name: 't_temperature', help: 'Temperature' }, () => [[{}, -1.5e-3]]);

    const families = parseExposition(await registry.metrics());
    expect(families.get('t_requests_total')).toMatchObject({ type: 'counter', help: 'Requests\\with a "backslash"\nand a newline' });
    expect(valueOf(families, 't_requests_total', { path: '/a"b\\c\nd' })).toBe(3);
    expect(valueOf(families, 't_requests_total', { path: '/plain' })).toBe(1);
    expect(valueOf(families, 't_temperature')).toBe(-1.5e-3);
    expect(samplesOf(families, 't_duration_seconds_bucket', { route: '/x' }).map((sample) => [sample.labels.le, sample.value])).toEqual([
      ['0.1', 1],
      ['1', 2],
      ['+Inf', 3],
    ]);
    expect(valueOf(families, 't_duration_seconds_count', { route: '/x' })).toBe(3);
    expect(valueOf(families, 't_duration_seconds_sum', { route: '/x' })).toBeCloseTo(5.55);
    expect(() => valueOf(families, 't_requests_total')).toThrow(/found 2/);
  });

  it.each([
    ['a sample before its TYPE', 'x 1\n'],
    ['an unknown type', '# TYPE x countr\nx 1\n'],
    ['a value that is not a number', '# TYPE x gauge\nx one\n'],
    ['an unclosed label value', '# TYPE x gauge\nx{a="1} 1\n'],
    ['a bad escape', '# TYPE x gauge\nx{a="\\t"} 1\n'],
    ['a series twice', '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n'],
    ['a label given twice', '# TYPE x gauge\nx{a="1",a="2"} 1\n'],
    ['no space before the value', '# TYPE x gauge\nx{a="1"}1\n'],
    ['too many fields', '# TYPE x gauge\nx 1 2 3\n'],
    ['buckets that are not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="+Inf"} 4\nh_count 4\nh_sum 1\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 5\nh_count 5\nh_sum 1\n'],
    ['a _count that is not the +Inf bucket', '# TYPE h histogram\nh_bucket{le="+Inf"} 5\nh_count 4\nh_sum 1\n'],
    ['a _bucket of a gauge', '# TYPE g gauge\ng_bucket{le="1"} 1\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => parseExposition(text)).toThrow(ExpositionError);
  });

  it('accepts comments, blank lines, NaN, infinities and timestamps', () => {
    const families = parseExposition('# a comment\n\n# HELP x An x\n# TYPE x gauge\nx{a="1"} NaN\nx{a="2"} +Inf 1700000000000\nx{a="3",} -Inf\n');
    expect(valueOf(families, 'x', { a: '1' })).toBeNaN();
    expect(samplesOf(families, 'x', { a: '2' })[0]).toMatchObject({ value: Infinity, timestamp: 1_700_000_000_000 });
    expect(valueOf(families, 'x', { a: '3' })).toBe(-Infinity);
    expect(families.get('x')?.help).toBe('An x');
  });
});

describe('platform/metrics.ts', () => {
  it('keeps every metric on the registry passed in, none on the global one', async () => {
    const { register } = await import('prom-client');
    const before = (await register.getMetricsAsJSON()).length;
    const registry = createMetricsRegistry();
    sourcedCounter(registry, { name: 'u_total', help: 'u' }, () => [[{}, 1]]);
    expect((await register.getMetricsAsJSON()).length).toBe(before);
    expect(valueOf(parseExposition(await registry.metrics()), 'u_total')).toBe(1);
  });

  it('reports counters and gauges read at scrape time, dropping series no longer read', async () => {
    const registry = createMetricsRegistry();
    let readers = [
      ['door', 3],
      ['side', 1],
    ] as Array<[string, number]>;
    sourcedCounter(registry, { name: 'u_reads_total', help: 'reads', labelNames: ['reader'] }, () => readers.map(([reader, reads]) => [{ reader }, reads] as const));
    sourcedGauge(registry, { name: 'u_state', help: 'state', labelNames: ['reader', 'state'] }, () => readers.flatMap(([reader]) => oneHot<'reader' | 'state', 'state'>('state', ['ready', 'stopped'], reader === 'door' ? 'ready' : 'odd', { reader })));
    let families = parseExposition(await registry.metrics());
    expect(valueOf(families, 'u_reads_total', { reader: 'door' })).toBe(3);
    expect(samplesOf(families, 'u_state', { reader: 'door' }).map((sample) => [sample.labels.state, sample.value])).toEqual([
      ['ready', 1],
      ['stopped', 0],
    ]);
    // A state outside the known ones is shown too, not hidden.
    expect(valueOf(families, 'u_state', { reader: 'side', state: 'odd' })).toBe(1);

    readers = [['door', 5]];
    families = parseExposition(await registry.metrics());
    expect(valueOf(families, 'u_reads_total', { reader: 'door' })).toBe(5);
    expect(samplesOf(families, 'u_reads_total', { reader: 'side' })).toEqual([]);
    expect(samplesOf(families, 'u_state', { reader: 'side' })).toEqual([]);
  });

  it('shares one read among the metrics of one scrape, and reads again at the next', async () => {
    const registry = createMetricsRegistry();
    let reads = 0;
    const shared = perScrape(async () => {
      reads += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { a: 1, b: 2 };
    });
    sourcedGauge(registry, { name: 'p_a', help: 'a' }, async () => [[{}, (await shared()).a]]);
    sourcedGauge(registry, { name: 'p_b', help: 'b' }, async () => [[{}, (await shared()).b]]);
    const families = parseExposition(await registry.metrics());
    expect([valueOf(families, 'p_a'), valueOf(families, 'p_b'), reads]).toEqual([1, 2, 1]);
    await registry.metrics();
    expect(reads).toBe(2);
  });

  it('adds the process metrics only when asked', async () => {
    expect(parseExposition(await createMetricsRegistry().metrics()).size).toBe(0);
    const families = parseExposition(await createMetricsRegistry({ processMetrics: true }).metrics());
    expect(families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(families.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');
  });
});
