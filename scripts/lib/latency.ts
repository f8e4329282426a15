import { itemAt } from '../../common/defined';

/**
 * Latency samples in milliseconds, kept in a growable Float64Array (no per-sample objects),
 * with exact percentiles by sorting at the end.
 */
export class LatencySamples {
  private data = new Float64Array(1 << 16);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  /** p in [0, 100]; NaN when empty. */
  percentiles(ps: readonly number[]): number[] {
    if (this.n === 0) return ps.map(() => Number.NaN);
    const sorted = this.data.slice(0, this.n).sort();
    return ps.map((p) => itemAt(sorted, Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1))));
  }
}
