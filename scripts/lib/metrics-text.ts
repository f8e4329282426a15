/**
 * Reading samples out of a Prometheus text exposition, as prom-client writes it: one sample a
 * line, `name{labels} value`, without timestamps; a metric with no labels is `name value`.
 * Used by the bench (scripts/lib/data-requests.ts) and by the tests (test/helpers/metrics.ts).
 */

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
