import { Backend, BackendLimits, BackendState } from './backend';

/**
 * The set of business servers and the choice among them: least outstanding requests among the
 * eligible ones, ties broken round-robin so that an idle cluster still spreads its load.
 */
export class BackendPool {
  readonly backends: readonly Backend[];
  private cursor = 0;

  constructor(urls: readonly string[], limits: BackendLimits) {
    this.backends = urls.map((u) => new Backend(u, limits));
  }

  /** The best eligible backend not in `tried`; undefined when there is none. */
  pick(tried: ReadonlySet<Backend>, nowMs: number): Backend | undefined {
    const n = this.backends.length;
    const start = this.cursor;
    this.cursor = (this.cursor + 1) % n;
    let best: Backend | undefined;
    for (let i = 0; i < n; i++) {
      const b = this.backends[(start + i) % n];
      if (b === undefined || tried.has(b) || !b.isEligible(nowMs)) continue;
      if (best === undefined || b.outstanding < best.outstanding) best = b;
    }
    return best;
  }

  /**
   * When no backend is eligible: one the active checks still call up, though a request failed
   * on it lately (least outstanding). A lone backend that reset one connection should not turn
   * away every request for passiveDownMs; a dead one refuses at once and is checked out soon.
   */
  pickLastResort(tried: ReadonlySet<Backend>): Backend | undefined {
    let best: Backend | undefined;
    for (const b of this.backends) {
      if (tried.has(b) || !b.isHealthy()) continue;
      if (best === undefined || b.outstanding < best.outstanding) best = b;
    }
    return best;
  }

  eligibleCount(nowMs: number): number {
    return this.backends.filter((b) => b.isEligible(nowMs)).length;
  }

  states(nowMs: number): BackendState[] {
    return this.backends.map((b) => b.state(nowMs));
  }

  close(): void {
    for (const b of this.backends) b.close();
  }
}
