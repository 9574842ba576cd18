// @ts-check
/**
 * A bar chart as inline SVG, built with DOM calls (no library, no style attributes: the CSP
 * forbids inline styles, so colours come from classes in app.css and sizes from SVG attributes).
 */

const SVG = 'http://www.w3.org/2000/svg';

/**
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number>} [attributes]
 * @param {Array<Node | string>} [children]
 * @returns {SVGElementTagNameMap[K]}
 */
export function svg(tag, attributes = {}, children = []) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child);
  return element;
}

/**
 * @typedef {{label: string, count: number, offsetMinutes: number}} Bucket
 * @typedef {{title: string, description: string, buckets: Bucket[], bucketMinutes: number, markerLabel: string, barTitle: (bucket: Bucket, end: string) => string}} HistogramOptions
 */

/**
 * A histogram of arrivals around a shift start: one bar per bucket with its count above it,
 * the times along the bottom every quarter hour, and the start marked by a dashed line with its
 * label. Bars at or after the start get the `bar-late` class (the line, not only the colour, says
 * where lateness begins).
 * @param {HistogramOptions} options
 */
export function histogram(options) {
  const { buckets } = options;
  const barWidth = 22;
  const gap = 4;
  const left = 34;
  const top = 30;
  const plotHeight = 140;
  const bottom = 36;
  const width = left + buckets.length * (barWidth + gap) + 10;
  const height = top + plotHeight + bottom;
  const max = Math.max(1, ...buckets.map((bucket) => bucket.count));
  const scale = plotHeight / max;
  const baseline = top + plotHeight;
  const titleId = `chart-${Math.random().toString(36).slice(2, 10)}`;

  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-labelledby': `${titleId}-t ${titleId}-d`, class: 'chart', 'data-test': 'hotspot-chart' }, [
    svg('title', { id: `${titleId}-t` }, [options.title]),
    svg('desc', { id: `${titleId}-d` }, [options.description]),
  ]);

  // The count axis: zero and the largest count.
  chart.append(
    svg('line', { x1: left - 4, x2: width - 6, y1: baseline, y2: baseline, class: 'chart-axis' }),
    svg('text', { x: left - 8, y: baseline, class: 'chart-tick', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, ['0']),
    svg('text', { x: left - 8, y: top, class: 'chart-tick', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, [String(max)]),
    svg('line', { x1: left - 4, x2: width - 6, y1: top, y2: top, class: 'chart-grid' }),
  );

  buckets.forEach((bucket, index) => {
    const x = left + index * (barWidth + gap);
    const barHeight = Math.round(bucket.count * scale);
    const end = buckets[index + 1]?.label ?? '';
    const bar = svg('rect', {
      x,
      y: baseline - barHeight,
      width: barWidth,
      height: Math.max(barHeight, 0),
      rx: 2,
      class: bucket.offsetMinutes >= 0 ? 'bar bar-late' : 'bar',
      'data-test': 'hotspot-bar',
      'data-count': bucket.count,
      'data-offset': bucket.offsetMinutes,
    }, [svg('title', {}, [options.barTitle(bucket, end)])]);
    chart.append(bar);
    if (bucket.count > 0) chart.append(svg('text', { x: x + barWidth / 2, y: baseline - barHeight - 4, class: 'chart-count', 'text-anchor': 'middle' }, [String(bucket.count)]));
    if (bucket.offsetMinutes % 15 === 0) chart.append(svg('text', { x, y: baseline + 16, class: 'chart-tick', 'text-anchor': 'middle' }, [bucket.label]));
  });

  // The shift start: a dashed line at offset 0, labelled.
  const startIndex = buckets.findIndex((bucket) => bucket.offsetMinutes === 0);
  if (startIndex >= 0) {
    const x = left + startIndex * (barWidth + gap) - gap / 2;
    chart.append(
      svg('line', { x1: x, x2: x, y1: top - 14, y2: baseline + 4, class: 'chart-marker', 'data-test': 'shift-start-marker' }),
      svg('text', { x: x + 4, y: top - 18, class: 'chart-marker-label' }, [options.markerLabel]),
    );
  }
  return chart;
}
