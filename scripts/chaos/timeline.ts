import { Attempt, History, NemesisRecord } from './history';

/**
 * Per-second series of a run (for the report) and the availability figures per nemesis: time
 * from the fault to the first success, and time until the success rate is back to half of what
 * it was in the seconds before the fault.
 */
export interface Bucket {
  readonly second: number;
  readonly ok: number;
  /** Attempts that ended with a fault, by code. */
  readonly faults: Readonly<Record<string, number>>;
  readonly noAnswer: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
}

export interface Availability {
  readonly nemesis: string;
  readonly target: string;
  readonly startMs: number;
  readonly endMs: number;
  /** From the fault's start to the first successful attempt that ended after it; undefined: none. */
  readonly firstSuccessMs: number | undefined;
  /** From the fault's start until a 1 s window reaches half the earlier rate; undefined: never. */
  readonly halfRateMs: number | undefined;
  readonly rateBeforePerSecond: number;
}

const BEFORE_WINDOW_MS = 3_000;
const STEP_MS = 100;

function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function runAttempts(history: History): Attempt[] {
  return history.ops.flatMap((op) => op.attempts.filter((a) => a.phase === 'run'));
}

export function buckets(history: History): Bucket[] {
  const bins = new Map<number, Attempt[]>();
  for (const a of runAttempts(history)) {
    const s = Math.floor(a.endMs / 1000);
    const bin = bins.get(s) ?? [];
    bin.push(a);
    bins.set(s, bin);
  }
  const lastSecond = Math.max(-1, ...bins.keys());
  const out: Bucket[] = [];
  for (let s = 0; s <= lastSecond; s++) {
    const inSecond = bins.get(s) ?? [];
    const faults: Record<string, number> = {};
    let ok = 0,
      noAnswer = 0;
    for (const a of inSecond) {
      if (a.result.kind === 'ok') ok++;
      else if (a.result.kind === 'fault') faults[a.result.code] = (faults[a.result.code] ?? 0) + 1;
      else noAnswer++;
    }
    const latencies = inSecond.map((a) => a.endMs - a.startMs).sort((x, y) => x - y);
    out.push({ second: s, ok, faults, noAnswer, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) });
  }
  return out;
}

function successEnds(history: History): number[] {
  return runAttempts(history)
    .filter((a) => a.result.kind === 'ok')
    .map((a) => a.endMs)
    .sort((x, y) => x - y);
}

function countIn(sorted: readonly number[], fromMs: number, toMs: number): number {
  let n = 0;
  for (const t of sorted) if (t >= fromMs && t < toMs) n++;
  return n;
}

export function availability(history: History, nemesis: NemesisRecord): Availability {
  const ends = successEnds(history);
  const last = ends[ends.length - 1] ?? 0;
  const rateBefore = countIn(ends, nemesis.startMs - BEFORE_WINDOW_MS, nemesis.startMs) / (BEFORE_WINDOW_MS / 1000);
  const first = ends.find((t) => t > nemesis.startMs);
  let halfRateMs: number | undefined;
  for (let t = nemesis.startMs; t + 1000 <= last; t += STEP_MS) {
    if (countIn(ends, t, t + 1000) >= rateBefore / 2) {
      halfRateMs = t + 1000 - nemesis.startMs;
      break;
    }
  }
  return {
    nemesis: nemesis.name,
    target: nemesis.target,
    startMs: nemesis.startMs,
    endMs: nemesis.endMs,
    firstSuccessMs: first === undefined ? undefined : first - nemesis.startMs,
    halfRateMs,
    rateBeforePerSecond: rateBefore,
  };
}
