import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PRINCIPAL_ID_PATTERN } from './contract';
import { sha256Hex } from './sha256';

/**
 * Credentials of callers (clients of the bank, business servers of the data tier), kept as
 * SHA-256 hashes of random tokens. Tokens are 256-bit random values, so a fast hash is enough
 * (no password stretching needed); comparison is constant-time over the hashes.
 *
 * File format (JSON): { "principals": [ { "id": "alice", "tokenSha256": "<64 hex>" }, ... ] }
 */
export interface PrincipalRecord {
  readonly id: string;
  readonly tokenSha256: string;
}

export interface CredentialFile {
  readonly principals: readonly PrincipalRecord[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
export const TOKEN_CHARS_MAX = 256;
/**
 * Verified (id, token) pairs a store remembers: more than the principals that call one process
 * at once (a few clients, a few business servers); ≤ 1024 × (64 + 256) characters of memory.
 */
export const VERIFIED_PAIRS_MAX = 1024;
/** Joins id and token into one cache key; ids (PRINCIPAL_ID_PATTERN) never hold it, so the split is unique. */
const PAIR_SEPARATOR = '\n';

export function hashToken(token: string): string {
  return sha256Hex(token);
}

/** A fresh token: 32 random bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export class CredentialStore {
  private readonly hashes: ReadonlyMap<string, Buffer>;
  /**
   * `id \n token` of pairs that verified, so that a caller's every request does not hash its
   * token again (sha256 was ~2 % of the data server's CPU). Only successes go in; the store is
   * immutable and a reload of the file builds a new store (common/reloading-credentials.ts), so
   * a revoked or rotated token is refused from the first request after the reload. Bounded:
   * past VERIFIED_PAIRS_MAX the oldest pair is dropped (and is hashed again when it returns).
   */
  private readonly verified = new Set<string>();

  constructor(file: CredentialFile) {
    const hashes = new Map<string, Buffer>();
    for (const p of file.principals) {
      if (!PRINCIPAL_ID_PATTERN.test(p.id)) throw new Error(`credential id is not valid: ${JSON.stringify(p.id)}`);
      if (!SHA256_HEX.test(p.tokenSha256)) throw new Error(`tokenSha256 of ${p.id} is not 64 lowercase hex digits`);
      if (hashes.has(p.id)) throw new Error(`credential id appears twice: ${p.id}`);
      hashes.set(p.id, Buffer.from(p.tokenSha256, 'hex'));
    }
    this.hashes = hashes;
  }

  static fromFile(path: string): CredentialStore {
    let parsed: Partial<CredentialFile> | null; // JSON.parse may give anything, null included
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<CredentialFile> | null;
    } catch (error) {
      // Say which file, in one line: the operator has to fix the file, not our code.
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(
        `credentials file ${path}: ${code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (!parsed || !Array.isArray(parsed.principals)) throw new Error(`${path}: expected {"principals": [...]}`);
    return new CredentialStore(parsed as CredentialFile);
  }

  /** True only for a known id whose token hashes to the stored hash. Never throws. */
  verify(id: string | undefined, token: string | undefined): boolean {
    if (typeof id !== 'string' || typeof token !== 'string') return false;
    if (token.length === 0 || token.length > TOKEN_CHARS_MAX) return false;
    // Timing: a hit answers faster than a miss, but it happens only for the exact pair that
    // verified before, so it tells the caller what the answer tells anyway. A miss, whatever
    // the id and token, takes the path below as before (hash, constant-time compare), so misses
    // do not tell known ids apart. Nor does the lookup compare a guess with a remembered token
    // character by character: a Set compares the keys' hashes first, their text only when the
    // hashes are equal, so a guess's time does not grow with how much of a real token it has.
    const pair = id + PAIR_SEPARATOR + token;
    if (this.verified.has(pair)) return true;
    if (!this.verifyByHash(id, token)) return false;
    if (this.verified.size >= VERIFIED_PAIRS_MAX) this.verified.delete(this.verified.values().next().value as string);
    this.verified.add(pair);
    return true;
  }

  /** Verified (id, token) pairs remembered now (≤ VERIFIED_PAIRS_MAX). */
  get verifiedPairs(): number {
    return this.verified.size;
  }

  private verifyByHash(id: string, token: string): boolean {
    const expected = this.hashes.get(id);
    // Hash even for unknown ids so that timing does not tell known ids apart.
    const actual = Buffer.from(hashToken(token), 'hex');
    if (expected === undefined) {
      timingSafeEqual(actual, actual);
      return false;
    }
    return timingSafeEqual(actual, expected);
  }

  has(id: string): boolean {
    return this.hashes.has(id);
  }
}
