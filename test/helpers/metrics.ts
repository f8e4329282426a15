/**
 * Reading a process's Prometheus metrics in tests: GET /metrics (behind the admin token) and the
 * samples of one metric in its text exposition. prom-client writes one sample a line,
 * `name{labels} value`, without timestamps; a metric with no labels is `name value`.
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

/** The values of one metric's samples whose labels include all of `labels`, in the text's order. */
export function sampleValues(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number[] {
  const values: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    values.push(Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return values;
}

/** The sum of those samples; 0 when there is none. */
export function sampleSum(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  return sampleValues(text, name, labels).reduce((sum, v) => sum + v, 0);
}
