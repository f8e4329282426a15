import { EventEmitter } from 'node:events';
import type { TraceEntry } from '../common/trace-ring';
import { ConsoleConfig, Target, Tier } from './config';
import { MetricJson, Rates, ratesBetween, Sample, sampleOf } from './metric-sample';
import { defined, itemAt } from '../common/defined';

/**
 * The console's picture of the cluster, refreshed every pollMs: each process's metrics
 * (/admin/metrics.json) and state (/admin/state), scraped with the admin token, turned into
 * rates; locks and waiters from the data servers; the newest faults from every ring; a bounded
 * history for the charts. Emits 'update' after each round. Never on a client's request path:
 * it reads only the admin endpoints, with a timeout, one round at a time.
 */
export interface ProcessView {
  readonly name: string;
  readonly tier: Tier;
  readonly url: string;
  readonly up: boolean;
  readonly error?: string;
  readonly requestsPerSecond: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly cpuPercent?: number;
  readonly inFlight: number;
  readonly queueDepth?: number;
  readonly queueDepthMax?: number;
  readonly faultsPerMinute: number;
  readonly faultsByCode: Readonly<Record<string, number>>;
}

export interface HeldLockView {
  readonly accounts: readonly string[];
  readonly holder: string;
  readonly fencingToken: string;
  readonly leaseLeftMs: number;
}

export interface Snapshot {
  readonly atMs: number;
  readonly devMode: boolean;
  readonly processes: readonly ProcessView[];
  readonly locksHeld: number;
  readonly locks: readonly HeldLockView[];
  readonly waiters: ReadonlyArray<{ readonly accountId: string; readonly waiters: number }>;
  readonly recentFaults: readonly TraceEntry[];
}

export interface HistoryPoint {
  readonly atMs: number;
  /** Client-facing throughput (the balancer's) and latency. */
  readonly requestsPerSecond: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly perBusiness: Readonly<Record<string, number>>;
}

/** Rates are taken over this many polls (smoother than one interval). */
const RATE_WINDOW_POLLS = 5;
const RECENT_FAULTS_MAX = 20;

interface TargetState {
  samples: Sample[];
  state: Record<string, unknown> | undefined;
  error: string | undefined;
}

export class ClusterView extends EventEmitter {
  private readonly states = new Map<string, TargetState>();
  private readonly points: HistoryPoint[] = [];
  private latest: Snapshot;
  private timer: NodeJS.Timeout | undefined;
  private readonly samplesKept: number;

  constructor(
    private readonly config: ConsoleConfig,
    private readonly adminToken: string,
  ) {
    super();
    this.samplesKept = Math.ceil(60_000 / config.pollMs) + 1;
    for (const t of config.targets)
      this.states.set(t.name, { samples: [], state: undefined, error: 'not scraped yet' });
    this.latest = this.build(Date.now());
  }

  start(): void {
    const round = (): void => {
      void this.poll().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(round, this.config.pollMs);
      });
    };
    this.timer = setTimeout(round, 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  snapshot(): Snapshot {
    return this.latest;
  }

  history(): readonly HistoryPoint[] {
    return this.points;
  }

  /** GET an admin route of one process as the operator. */
  async adminGet(target: Target, pathAndQuery: string, timeoutMs = this.config.scrapeTimeoutMs): Promise<unknown> {
    const { status, body } = await this.adminRequest(target, 'GET', pathAndQuery, undefined, timeoutMs);
    if (status !== 200) throw new Error(`HTTP ${status} from ${target.name}`);
    if (body === undefined) throw new Error(`no JSON from ${target.name}`);
    return body;
  }

  /** Any admin route of one process as the operator: the status and the JSON answer (undefined if none). */
  async adminRequest(
    target: Target,
    method: 'GET' | 'PUT' | 'DELETE',
    pathAndQuery: string,
    json: unknown,
    timeoutMs: number,
  ): Promise<{ status: number; body: unknown }> {
    const res = await fetch(new URL(pathAndQuery, target.url), {
      method,
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  }

  private async poll(): Promise<void> {
    await Promise.all(
      this.config.targets.map(async (t) => {
        const s = defined(this.states.get(t.name), `the state of ${t.name}`);
        try {
          const [metrics, state] = await Promise.all([
            this.adminGet(t, '/admin/metrics.json'),
            this.adminGet(t, '/admin/state'),
          ]);
          s.samples.push(sampleOf(metrics as MetricJson[], Date.now()));
          if (s.samples.length > this.samplesKept) s.samples.shift();
          s.state = state as Record<string, unknown>;
          s.error = undefined;
        } catch (error) {
          s.error = error instanceof Error ? error.message : String(error);
          s.state = undefined;
          s.samples = [];
        }
      }),
    );
    const nowMs = Date.now();
    this.latest = this.build(nowMs);
    this.points.push(this.point(nowMs));
    if (this.points.length > this.config.historyPoints) this.points.shift();
    this.emit('update', this.latest, this.points[this.points.length - 1]);
  }

  private rates(name: string, polls: number): Rates | undefined {
    const samples = this.states.get(name)?.samples ?? [];
    if (samples.length < 2) return undefined;
    return ratesBetween(itemAt(samples, Math.max(0, samples.length - 1 - polls)), itemAt(samples, samples.length - 1));
  }

  private view(t: Target): ProcessView {
    const s = defined(this.states.get(t.name), `the state of ${t.name}`);
    const last = s.samples[s.samples.length - 1];
    const r = this.rates(t.name, RATE_WINDOW_POLLS);
    const first = s.samples[0];
    const faultsByCode: Record<string, number> = {};
    if (last !== undefined && first !== undefined) {
      for (const [code, n] of last.faults)
        if (n - (first.faults.get(code) ?? 0) > 0) faultsByCode[code] = n - (first.faults.get(code) ?? 0);
    }
    return {
      name: t.name,
      tier: t.tier,
      url: t.url,
      up: s.error === undefined,
      ...(s.error === undefined ? {} : { error: s.error }),
      requestsPerSecond: r?.requestsPerSecond ?? 0,
      ...(r?.p50Ms === undefined ? {} : { p50Ms: r.p50Ms }),
      ...(r?.p99Ms === undefined ? {} : { p99Ms: r.p99Ms }),
      ...(r === undefined ? {} : { cpuPercent: r.cpuPercent }),
      inFlight: last?.inFlight ?? 0,
      ...(last?.queueDepth === undefined ? {} : { queueDepth: last.queueDepth }),
      ...(last?.queueDepthMax === undefined ? {} : { queueDepthMax: last.queueDepthMax }),
      faultsPerMinute: Object.values(faultsByCode).reduce((a, b) => a + b, 0),
      faultsByCode,
    };
  }

  private build(atMs: number): Snapshot {
    const locks: HeldLockView[] = [];
    const waiters: Array<{ accountId: string; waiters: number }> = [];
    const faults: TraceEntry[] = [];
    let locksHeld = 0;
    for (const t of this.config.targets) {
      const state = this.states.get(t.name)?.state;
      if (state === undefined) continue;
      faults.push(...((state.recentFaults ?? []) as TraceEntry[]));
      if (t.tier !== 'data') continue;
      // Several data servers over one PostgreSQL see the same locks: count them once.
      if (locks.length === 0) {
        locksHeld = Number(state.locksHeld ?? 0);
        for (const l of (state.locks ?? []) as Array<HeldLockView & { accounts: string[] }>) locks.push(l);
      }
      waiters.push(...((state.waiters ?? []) as typeof waiters));
    }
    faults.sort((a, b) => b.atMs - a.atMs);
    return {
      atMs,
      devMode: this.config.devMode,
      processes: this.config.targets.map((t) => this.view(t)),
      locksHeld,
      locks,
      waiters,
      recentFaults: faults.slice(0, RECENT_FAULTS_MAX),
    };
  }

  private point(atMs: number): HistoryPoint {
    const perBusiness: Record<string, number> = {};
    for (const t of this.config.targets)
      if (t.tier === 'business') perBusiness[t.name] = this.rates(t.name, 1)?.requestsPerSecond ?? 0;
    const lb = this.rates('balancer', 1);
    return {
      atMs,
      requestsPerSecond: lb?.requestsPerSecond ?? 0,
      p50Ms: lb?.p50Ms ?? null,
      p99Ms: lb?.p99Ms ?? null,
      perBusiness,
    };
  }
}
