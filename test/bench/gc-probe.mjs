// Loaded into the child gateway with `node --import` by the bench (never in production): records
// each garbage-collector pause as "epochStartMs durationMs kind" lines in $PUNCHGATE_BENCH_GC_FILE,
// so the bench can tell which taps a gateway GC pause fell into.
import { appendFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';

const file = process.env.PUNCHGATE_BENCH_GC_FILE;
if (file) {
  const observer = new PerformanceObserver((list) => {
    const lines = list
      .getEntries()
      .map((entry) => `${(performance.timeOrigin + entry.startTime).toFixed(3)} ${entry.duration.toFixed(3)} ${entry.detail?.kind ?? ''}\n`)
      .join('');
    appendFileSync(file, lines);
  });
  observer.observe({ entryTypes: ['gc'] });
}
