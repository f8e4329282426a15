import { itemAt } from '../common/defined';

/**
 * One scrape of a process's metrics (prom-client's JSON at /admin/metrics.json) cut down to what
 * the console shows, and what two scrapes say together: requests/s, p50/p99 over the interval
 * (from the histogram buckets' growth), CPU share, faults by code.
 */
export interface MetricJson {
  readonly name: string;
  readonly type: string;
  readonly values: ReadonlyArray<{
    readonly value: number;
    readonly labels: Readonly<Record<string, string | number>>;
    readonly metricName?: string;
  }>;
}

export interface Sample {
  readonly atMs: number;
  readonly requests: number;
  /** Requests by outcome other than ok. */
  readonly faults: ReadonlyMap<string, number>;
  /** Cumulative histogram counts of request durations by upper bound (seconds), all operations. */
  readonly buckets: ReadonlyMap<number, number>;
  readonly cpuSeconds: number;
  readonly inFlight: number;
  readonly queueDepth: number | undefined;
  readonly queueDepthMax: number | undefined;
}

function metric(json: readonly MetricJson[], name: string): MetricJson | undefined {
  return json.find((m) => m.name === name);
}

function sum(m: MetricJson | undefined): number {
  return m === undefined ? 0 : m.values.reduce((s, v) => s + v.value, 0);
}

export function sampleOf(json: readonly MetricJson[], atMs: number): Sample {
  const faults = new Map<string, number>();
  for (const v of metric(json, 'distbank_requests_total')?.values ?? []) {
    const outcome = String(v.labels.outcome ?? '');
    if (outcome !== 'ok') faults.set(outcome, (faults.get(outcome) ?? 0) + v.value);
  }
  const buckets = new Map<number, number>();
  for (const v of metric(json, 'distbank_request_duration_seconds')?.values ?? []) {
    if (v.metricName !== 'distbank_request_duration_seconds_bucket') continue;
    const le = v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + v.value);
  }
  const queue = metric(json, 'distbank_account_queue_depth');
  const queueMax = metric(json, 'distbank_account_queue_depth_max');
  return {
    atMs,
    requests: sum(metric(json, 'distbank_requests_total')),
    faults,
    buckets,
    cpuSeconds: sum(metric(json, 'distbank_process_cpu_seconds_total')),
    inFlight: sum(metric(json, 'distbank_in_flight')),
    queueDepth: queue === undefined ? undefined : sum(queue),
    queueDepthMax: queueMax === undefined ? undefined : sum(queueMax),
  };
}

export interface Rates {
  readonly requestsPerSecond: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly cpuPercent: number;
  readonly faults: number;
}

/** What happened between two samples of one process (older first). */
export function ratesBetween(older: Sample, newer: Sample): Rates {
  const seconds = Math.max(0.001, (newer.atMs - older.atMs) / 1000);
  const faults = [...newer.faults].reduce((s, [code, n]) => s + n - (older.faults.get(code) ?? 0), 0);
  return {
    requestsPerSecond: Math.max(0, newer.requests - older.requests) / seconds,
    p50Ms: quantileMs(older.buckets, newer.buckets, 0.5),
    p99Ms: quantileMs(older.buckets, newer.buckets, 0.99),
    cpuPercent: (Math.max(0, newer.cpuSeconds - older.cpuSeconds) / seconds) * 100,
    faults: Math.max(0, faults),
  };
}

/** The q-quantile of the durations observed between two scrapes: linear inside the bucket, as PromQL's histogram_quantile. */
export function quantileMs(
  older: ReadonlyMap<number, number>,
  newer: ReadonlyMap<number, number>,
  q: number,
): number | undefined {
  const bounds = [...newer.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (newer.get(le) ?? 0) - (older.get(le) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if ((counts[i] ?? 0) < rank) continue;
    const upper = itemAt(bounds, i);
    const lower = i === 0 ? 0 : itemAt(bounds, i - 1);
    if (!Number.isFinite(upper)) return lower * 1000;
    const below = i === 0 ? 0 : itemAt(counts, i - 1);
    const inBucket = (counts[i] ?? 0) - below;
    const fraction = inBucket <= 0 ? 1 : (rank - below) / inBucket;
    return (lower + (upper - lower) * fraction) * 1000;
  }
  return undefined;
}
