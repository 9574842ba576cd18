/**
 * A parser of the Prometheus text exposition format, version 0.0.4 (what prom-client writes and
 * Prometheus scrapes), strict enough to catch a malformed /metrics: every line is either blank, a
 * comment, `# HELP`, `# TYPE` or a sample; a sample's metric must belong to a family whose TYPE came
 * before it (`_bucket`/`_sum`/`_count` for histograms and summaries); label values are read with
 * their escapes; a series appears once; a histogram's buckets are cumulative and end at `+Inf`
 * with its `_count`. Any breach throws, naming the line.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name (`x_bucket` for a histogram `x`). */
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

export class ExpositionError extends Error {
  override name = 'ExpositionError';
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_match, char: string) => (char === 'n' ? '\n' : '\\'));
}

/**
 * A value as Prometheus reads it (Go's strconv.ParseFloat): decimal or exponent notation, and NaN,
 * Inf and Infinity in any case with an optional sign (prom-client writes NaN as `Nan`).
 */
function parseNumber(text: string, line: number): number {
  const special = /^([-+]?)(nan|inf|infinity)$/i.exec(text);
  if (special) return special[2]?.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new ExpositionError(`line ${line}: "${text}" is not a number`);
  return Number(text);
}

/** Reads `{a="1",b="x\"y"}` from the start of `text`; returns the labels and what follows. */
function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let at = 1;
  for (;;) {
    while (text[at] === ' ') at += 1;
    if (text[at] === '}') return { labels, rest: text.slice(at + 1) };
    const name = LABEL_NAME.exec(text.slice(at))?.[0];
    if (!name) throw new ExpositionError(`line ${line}: a label name was expected at column ${at + 1}`);
    at += name.length;
    while (text[at] === ' ') at += 1;
    if (text[at] !== '=' || text[at + 1] !== '"') throw new ExpositionError(`line ${line}: label ${name} has no ="value"`);
    at += 2;
    let value = '';
    for (;;) {
      const char = text[at];
      if (char === undefined) throw new ExpositionError(`line ${line}: the value of label ${name} is not closed`);
      at += 1;
      if (char === '"') break;
      if (char === '\\') {
        const escaped = text[at];
        at += 1;
        if (escaped === 'n') value += '\n';
        else if (escaped === '\\' || escaped === '"') value += escaped;
        else throw new ExpositionError(`line ${line}: bad escape \\${escaped ?? ''} in label ${name}`);
      } else value += char;
    }
    if (name in labels) throw new ExpositionError(`line ${line}: label ${name} given twice`);
    labels[name] = value;
    while (text[at] === ' ') at += 1;
    if (text[at] === ',') at += 1;
    else if (text[at] !== '}') throw new ExpositionError(`line ${line}: , or } expected after label ${name}`);
  }
}

/** The family a sample name belongs to, given the families declared so far. */
function familyOf(sampleName: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const exact = families.get(sampleName);
  if (exact) return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue;
    const family = families.get(sampleName.slice(0, -suffix.length));
    if (family && (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket'))) return family;
  }
  return undefined;
}

function seriesKey(name: string, labels: Record<string, string>): string {
  return `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
}

function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, { buckets: Array<{ le: number; value: number }>; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) throw new ExpositionError(`${family.name}: a bucket without le`);
      group.buckets.push({ le: parseNumber(le, 0), value: sample.value });
    } else if (sample.name === `${family.name}_count`) group.count = sample.value;
  }
  for (const [key, group] of groups) {
    const sorted = [...group.buckets].sort((a, b) => a.le - b.le);
    for (let index = 1; index < sorted.length; index += 1) {
      if ((sorted[index] as { value: number }).value < (sorted[index - 1] as { value: number }).value) throw new ExpositionError(`${family.name}${key}: buckets are not cumulative`);
    }
    const last = sorted[sorted.length - 1];
    if (!last || last.le !== Infinity) throw new ExpositionError(`${family.name}${key}: no le="+Inf" bucket`);
    if (group.count !== last.value) throw new ExpositionError(`${family.name}${key}: _count ${group.count} differs from the +Inf bucket ${last.value}`);
  }
}

/** Parses a whole exposition; throws ExpositionError on the first malformed line. */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const helps = new Map<string, string>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const text = raw.trim();
    if (text === '') return;
    if (text.startsWith('#')) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(text);
      if (!match) return; // another comment
      const [, keyword, name = '', rest = ''] = match;
      if (!NAME.test(name) || NAME.exec(name)?.[0] !== name) throw new ExpositionError(`line ${line}: "${name}" is not a metric name`);
      if (keyword === 'HELP') {
        if (helps.has(name)) throw new ExpositionError(`line ${line}: a second HELP for ${name}`);
        helps.set(name, unescapeHelp(rest));
        const family = families.get(name);
        if (family) family.help = unescapeHelp(rest);
        return;
      }
      const type = rest.trim() as MetricType;
      if (!TYPES.has(type)) throw new ExpositionError(`line ${line}: unknown type "${rest}" for ${name}`);
      if (families.has(name)) throw new ExpositionError(`line ${line}: a second TYPE for ${name}`);
      families.set(name, { name, type, help: helps.get(name) ?? '', samples: [] });
      return;
    }
    const name = NAME.exec(text)?.[0];
    if (!name) throw new ExpositionError(`line ${line}: not a sample: ${text}`);
    let rest = text.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const fields = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') && !rest.startsWith('\t')) throw new ExpositionError(`line ${line}: a space must separate the series from its value`);
    if (fields.length < 1 || fields.length > 2 || fields[0] === '') throw new ExpositionError(`line ${line}: expected a value and an optional timestamp, got "${rest.trim()}"`);
    const family = familyOf(name, families);
    if (!family) throw new ExpositionError(`line ${line}: sample ${name} before any TYPE of its family`);
    const key = seriesKey(name, labels);
    if (seen.has(key)) throw new ExpositionError(`line ${line}: series ${name}${JSON.stringify(labels)} appears twice`);
    seen.add(key);
    const sample: Sample = { name, labels, value: parseNumber(fields[0] as string, line) };
    if (fields[1] !== undefined) sample.timestamp = parseNumber(fields[1], line);
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/**
 * The samples named `name` whose labels include `labels` (all of them, exactly; others may be
 * present). `name` is a sample name: `x_bucket`, `x_count` for a histogram `x`.
 */
export function samplesOf(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): Sample[] {
  const family = familyOf(name, families);
  if (!family) return [];
  return family.samples.filter((sample) => sample.name === name && Object.entries(labels).every(([label, value]) => sample.labels[label] === value));
}

/** The value of the one sample matching; throws when none or several match (a test must be exact). */
export function valueOf(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  const found = samplesOf(families, name, labels);
  if (found.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}${found.length ? `: ${JSON.stringify(found.map((sample) => sample.labels))}` : ''}`);
  return (found[0] as Sample).value;
}

/** GETs `url` with a real HTTP request and parses the answer; checks the status and the content type. */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, MetricFamily>> {
  const response = await fetch(url, { headers });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${body.slice(0, 300)}`);
  const type = response.headers.get('content-type') ?? '';
  if (!/^text\/plain;\s*version=0\.0\.4/.test(type)) throw new Error(`GET ${url}: content type ${type}, not the Prometheus text format`);
  return parseExposition(body);
}
