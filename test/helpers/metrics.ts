/**
 * Reading a process's Prometheus metrics in tests: GET /metrics (behind the admin token), and the
 * samples of one metric in its text exposition (scripts/lib/metrics-text.ts).
 */
export interface MetricsAnswer {
  readonly status: number;
  readonly text: string;
}

/** GET /metrics of the process at `url` (any URL on it), with the admin token when one is given. */
export async function fetchMetrics(url: string, token: string | undefined): Promise<MetricsAnswer> {
  const res = await fetch(
    new URL('/metrics', url),
    token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  );
  return { status: res.status, text: await res.text() };
}

export { sampleSum, sampleValues } from '../../scripts/lib/metrics-text';
