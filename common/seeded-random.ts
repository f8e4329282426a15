import { itemAt } from './defined';

/**
 * A small seeded generator (mulberry32): the chaos workload, the nemesis schedule and the
 * fault injector's rules (business/fault-injector.ts) are reproducible from a seed. Not for anything secret.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return itemAt(items, Math.floor(this.next() * items.length));
  }

  /** A generator of its own for a sub-stream (a worker), so streams do not depend on each other's pace. */
  fork(salt: number): SeededRandom {
    return new SeededRandom(Math.imul(this.state ^ (salt * 0x9e3779b1), 0x85ebca6b) ^ salt);
  }
}
