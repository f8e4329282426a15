import { xmlAttribute } from '../../common/xml-writer';
import { Verdict } from './checker';
import { NemesisRecord } from './history';
import { Availability, Bucket } from './timeline';
import { itemAt } from '../../common/defined';

/**
 * The report a person looks at: one self-contained HTML page (inline SVG, no script, no
 * network), with the verdict, a timeline of successes/s, attempts without an answer and faults
 * by code, latency p50/p99 per second, the nemesis windows shaded, and the availability figures.
 */
export interface ReportInput {
  readonly title: string;
  readonly verdict: Verdict;
  readonly buckets: readonly Bucket[];
  readonly nemeses: readonly NemesisRecord[];
  readonly availability: readonly Availability[];
  readonly options: Readonly<Record<string, unknown>>;
}

const W = 960,
  H = 220,
  PAD_L = 56,
  PAD_R = 16,
  PAD_T = 14,
  PAD_B = 28;
const COLORS = ['#d62728', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

interface Series {
  readonly name: string;
  readonly color: string;
  readonly values: readonly (number | undefined)[];
}

function chart(
  title: string,
  unit: string,
  seconds: number,
  series: readonly Series[],
  nemeses: readonly NemesisRecord[],
): string {
  const maxY = Math.max(1, ...series.flatMap((s) => s.values.filter((v): v is number => v !== undefined)));
  const x = (sec: number): number => PAD_L + (sec / Math.max(1, seconds)) * (W - PAD_L - PAD_R);
  const y = (v: number): number => H - PAD_B - (v / maxY) * (H - PAD_T - PAD_B);
  const shades = nemeses
    .map((n) => {
      const x0 = x(n.startMs / 1000),
        x1 = Math.max(x0 + 2, x(n.endMs / 1000));
      return (
        `<rect x="${x0.toFixed(1)}" y="${PAD_T}" width="${(x1 - x0).toFixed(1)}" height="${H - PAD_T - PAD_B}" fill="#fde68a" opacity="0.6"><title>${xmlAttribute(`${n.name} ${n.target}`)}</title></rect>` +
        `<text x="${(x0 + 2).toFixed(1)}" y="${PAD_T + 10}" font-size="10" fill="#92400e">${xmlAttribute(n.name)}</text>`
      );
    })
    .join('');
  const lines = series
    .map((s) => {
      const pts = s.values
        .map((v, i) => (v === undefined ? undefined : `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`))
        .filter((p) => p !== undefined);
      return `<polyline fill="none" stroke="${s.color}" stroke-width="1.6" points="${pts.join(' ')}"/>`;
    })
    .join('');
  const stepS = Math.max(1, Math.ceil(seconds / 8));
  const ticks = Array.from({ length: Math.floor(seconds / stepS) + 1 }, (_v, i) => i * stepS)
    .map(
      (sec) =>
        `<text x="${x(sec).toFixed(1)}" y="${H - 8}" font-size="10" text-anchor="middle">${sec.toFixed(0)} s</text>`,
    )
    .join('');
  const yTicks = [0, maxY / 2, maxY]
    .map(
      (v) =>
        `<text x="${PAD_L - 6}" y="${(y(v) + 3).toFixed(1)}" font-size="10" text-anchor="end">${v.toFixed(0)}</text>`,
    )
    .join('');
  const legend = series
    .map((s) => `<span style="color:${s.color};margin-right:14px">■ ${xmlAttribute(s.name)}</span>`)
    .join('');
  return (
    `<h2>${xmlAttribute(title)}</h2><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">` +
    `<rect x="${PAD_L}" y="${PAD_T}" width="${W - PAD_L - PAD_R}" height="${H - PAD_T - PAD_B}" fill="#fafafa" stroke="#ddd"/>` +
    shades +
    lines +
    ticks +
    yTicks +
    `<text x="4" y="${PAD_T + 8}" font-size="10">${xmlAttribute(unit)}</text></svg>` +
    `<div class="legend">${legend}</div>`
  );
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return (
    `<table><tr>${headers.map((h) => `<th>${xmlAttribute(h)}</th>`).join('')}</tr>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${xmlAttribute(c)}</td>`).join('')}</tr>`).join('') +
    '</table>'
  );
}

const ms = (v: number | undefined): string => (v === undefined ? 'never' : `${(v / 1000).toFixed(2)} s`);

export function renderReport(input: ReportInput): string {
  const seconds = input.buckets.length;
  const v = input.verdict;
  const verdictLine = v.valid
    ? '<p class="ok">VALID: no anomaly found</p>'
    : `<p class="bad">INVALID: ${v.anomalies.length} anomalies</p>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${xmlAttribute(input.title)}</title><style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:15px;margin:18px 0 4px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.ok{color:#15803d;font-weight:600}.bad{color:#b91c1c;font-weight:600}.legend{font-size:12px;margin:2px 0 8px ${PAD_L}px}
</style></head><body><h1>${xmlAttribute(input.title)}</h1>${verdictLine}
${countsTable(v)}
${chart('Throughput and faults per second (nemesis windows shaded)', 'per s', seconds, throughputSeries(input), input.nemeses)}
${chart('Latency per second', 'ms', seconds, latencySeries(input), input.nemeses)}
<h2>Nemeses and recovery</h2>
${nemesesTable(input)}
<h2>Anomalies</h2>
${
  v.anomalies.length === 0
    ? '<p>none</p>'
    : table(
        ['kind', 'account', 'transaction', 'request', 'detail'],
        v.anomalies
          .slice(0, 200)
          .map((a) => [a.kind, a.accountId ?? '', a.transactionId ?? '', a.requestId ?? '', a.detail]),
      )
}
<h2>Options</h2><pre>${xmlAttribute(JSON.stringify(input.options, null, 2))}</pre>
</body></html>
`;
}

function throughputSeries(input: ReportInput): Series[] {
  const codes = [...new Set(input.buckets.flatMap((b) => Object.keys(b.faults)))].sort();
  return [
    { name: 'ok/s', color: '#2ca02c', values: input.buckets.map((b) => b.ok) },
    { name: 'no answer/s', color: '#1f77b4', values: input.buckets.map((b) => b.noAnswer) },
    ...codes.map((c, i) => ({
      name: `${c}/s`,
      color: itemAt(COLORS, i % COLORS.length),
      values: input.buckets.map((b) => b.faults[c] ?? 0),
    })),
  ];
}

function latencySeries(input: ReportInput): Series[] {
  return [
    { name: 'p50 ms', color: '#1f77b4', values: input.buckets.map((b) => b.p50Ms) },
    { name: 'p99 ms', color: '#d62728', values: input.buckets.map((b) => b.p99Ms) },
  ];
}

function countsTable(v: Verdict): string {
  return table(
    [
      'ops',
      'ok',
      'definite faults',
      'indeterminate',
      '→ applied once',
      '→ not applied',
      'unresolved',
      'double applies',
      'money delta (cents)',
    ],
    [
      [
        String(v.counts.ops),
        String(v.counts.ok),
        String(v.counts.failed),
        String(v.counts.indeterminate),
        String(v.counts.indeterminateApplied),
        String(v.counts.indeterminateNotApplied),
        String(v.counts.unresolved),
        String(v.counts.doubleApplies),
        String(v.moneyDeltaCents),
      ],
    ],
  );
}

function nemesesTable(input: ReportInput): string {
  return table(
    ['nemesis', 'target', 'at', 'lasted', 'first success after', 'back to half rate after', 'rate before', 'error'],
    input.availability.map((a, i) => [
      a.nemesis,
      a.target,
      ms(a.startMs),
      ms(a.endMs - a.startMs),
      ms(a.firstSuccessMs),
      ms(a.halfRateMs),
      `${a.rateBeforePerSecond.toFixed(0)}/s`,
      input.nemeses[i]?.error ?? '',
    ]),
  );
}
