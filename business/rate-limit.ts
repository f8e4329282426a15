/**
 * A token bucket per client inside one business server: each request takes one token; a
 * client's bucket holds at most `burst` tokens and refills at `ratePerS`. An empty bucket means
 * RATE_LIMITED, with the time until the next token as retryAfterMs. The limit is per business
 * server (no shared state between servers): behind a balancer spreading over N servers, a client
 * gets about N × ratePerS in all.
 *
 * Buckets are kept for at most `clientsMax` clients, least recently used first out. A bucket
 * that has refilled is the same as no bucket, so evicting an idle one changes nothing; evicting a
 * busy one (only with more than clientsMax clients active at once) gives that client a fresh
 * burst, which is bounded.
 */
export interface RateLimits {
  readonly ratePerS: number;
  readonly burst: number;
  readonly clientsMax: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export class ClientRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limits: RateLimits) {
    if (!(Number.isFinite(limits.ratePerS) && limits.ratePerS > 0)) throw new Error('ratePerS must be > 0');
    if (!Number.isSafeInteger(limits.burst) || limits.burst < 1) throw new Error('burst must be ≥ 1');
    if (!Number.isSafeInteger(limits.clientsMax) || limits.clientsMax < 1) throw new Error('clientsMax must be ≥ 1');
  }

  /** Takes one token of clientId's bucket: 0 when admitted, else the ms until one is there (≥ 1). */
  take(clientId: string, nowMs: number = Date.now()): number {
    const bucket = this.refilled(clientId, nowMs);
    // Most recently used last, so the first key is the one to evict.
    this.buckets.delete(clientId);
    this.buckets.set(clientId, bucket);
    if (this.buckets.size > this.limits.clientsMax) this.buckets.delete(this.buckets.keys().next().value as string);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * 1000) / this.limits.ratePerS));
  }

  /** Clients with a bucket (for /health and tests). */
  get clients(): number {
    return this.buckets.size;
  }

  private refilled(clientId: string, nowMs: number): Bucket {
    const bucket = this.buckets.get(clientId);
    if (bucket === undefined) return { tokens: this.limits.burst, atMs: nowMs };
    // A clock that steps back adds nothing (max with 0) rather than taking tokens away.
    const elapsedMs = Math.max(0, nowMs - bucket.atMs);
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + (elapsedMs * this.limits.ratePerS) / 1000);
    bucket.atMs = nowMs;
    return bucket;
  }
}
