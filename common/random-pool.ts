import { randomFillSync } from 'node:crypto';

/**
 * Random ids (trace ids, span ids, the balancer's request ids) drawn from a pool of bytes that
 * one randomFillSync refills, instead of one randomBytes call per id. Same source (the CSPRNG
 * behind node:crypto), so the ids stay as unpredictable as before; every byte is handed out
 * once, so they stay as unique. Why: per request each tier made 2–4 ids, and each randomBytes
 * call cost a trip into OpenSSL plus a getpid syscall (its fork check) — 2.5–5 % of each tier's
 * CPU in `npm run bench` profiles. node's own randomUUID keeps a pool the same way (128 UUIDs).
 * The pool is process memory, like that one: nothing here is a secret key or a session token
 * (those still use randomBytes directly: common/credentials.ts, console/sessions.ts).
 */
export const RANDOM_POOL_BYTES = 4096;

export class RandomPool {
  private readonly buffer: Buffer;
  /** Next unused byte; starts past the end, so the first id fills the pool. */
  private offset: number;
  private refillCount = 0;

  constructor(
    readonly bytes: number,
    private readonly fill: (buffer: Buffer) => void = (buffer) => randomFillSync(buffer),
  ) {
    if (!Number.isSafeInteger(bytes) || bytes < 1)
      throw new RangeError(`pool bytes must be a positive integer, got ${bytes}`);
    // Unpooled: Buffer.allocUnsafe's shared slab would put other buffers' bytes next to ours.
    this.buffer = Buffer.allocUnsafeSlow(bytes);
    this.offset = bytes;
  }

  /** How many times the pool was filled (for tests and profiles). */
  get refills(): number {
    return this.refillCount;
  }

  /** `byteCount` fresh random bytes as 2 × byteCount lowercase hex digits. */
  hex(byteCount: number): string {
    return this.text('hex', byteCount);
  }

  /** `byteCount` fresh random bytes as base64url without padding (randomBytes(n).toString('base64url')). */
  base64url(byteCount: number): string {
    return this.text('base64url', byteCount);
  }

  private text(encoding: 'hex' | 'base64url', byteCount: number): string {
    if (!Number.isSafeInteger(byteCount) || byteCount < 1 || byteCount > this.bytes) {
      throw new RangeError(`random id bytes must be 1..${this.bytes}, got ${byteCount}`);
    }
    if (this.offset + byteCount > this.bytes) {
      // The unused tail is dropped, not joined to the new bytes: simpler, and a few bytes only.
      this.fill(this.buffer);
      this.refillCount++;
      this.offset = 0;
    }
    const text = this.buffer.toString(encoding, this.offset, this.offset + byteCount);
    this.offset += byteCount;
    return text;
  }
}

/** The process's pool, shared by every id maker. */
export const sharedRandomPool = new RandomPool(RANDOM_POOL_BYTES);

/** `byteCount` fresh random bytes from the shared pool, as lowercase hex. */
export function randomHex(byteCount: number): string {
  return sharedRandomPool.hex(byteCount);
}

/**
 * `byteCount` fresh random bytes from the shared pool, as base64url: the form of the data
 * tier's lock ids (made by randomBytes(16).toString('base64url'): 2 % of its CPU in a profile).
 */
export function randomBase64url(byteCount: number): string {
  return sharedRandomPool.base64url(byteCount);
}
