import { expect } from 'chai';
import { randomFillSync } from 'node:crypto';
import { RANDOM_POOL_BYTES, randomBase64url, RandomPool, sharedRandomPool } from '../common/random-pool';
import { assignedRequestId } from '../balancer/request-id';
import { newSpanId, traceContextOf } from '../common/trace-ring';

describe('random pool (ids from one randomFillSync per pool of bytes)', () => {
  it('gives lowercase hex of the asked length, unique over many ids', () => {
    const pool = new RandomPool(RANDOM_POOL_BYTES);
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = pool.hex(8);
      expect(id).to.match(/^[0-9a-f]{16}$/);
      seen.add(id);
    }
    expect(seen.size).to.equal(100_000);
    expect(pool.hex(16)).to.match(/^[0-9a-f]{32}$/);
  });

  it('refills once per pool of bytes, and never hands out a byte twice across the boundary', () => {
    // 64 bytes, ids of 12: five fit (60 bytes); the sixth must come from a fresh pool, whole.
    const chunks: Buffer[] = [];
    let refills = 0;
    const pool = new RandomPool(64, (buffer) => {
      refills++;
      buffer.fill(refills); // recognisable contents: each refill's bytes are its number
      chunks.push(Buffer.from(buffer));
    });
    expect(refills).to.equal(0); // nothing drawn before the first id
    const ids = Array.from({ length: 11 }, () => pool.hex(12));
    expect(refills).to.equal(3); // 5 + 5 + 1
    expect(pool.refills).to.equal(3);
    expect(ids.slice(0, 5)).to.deep.equal(Array<string>(5).fill('01'.repeat(12)));
    expect(ids.slice(5, 10)).to.deep.equal(Array<string>(5).fill('02'.repeat(12)));
    expect(ids[10]).to.equal('03'.repeat(12));
    expect(chunks.every((c) => c.length === 64)).to.equal(true);
  });

  it('base64url ids: the same bytes as the hex ones would be, unpadded, from the same pool', () => {
    const bytes: Buffer[] = [];
    const pool = new RandomPool(48, (buffer) => {
      randomFillSync(buffer);
      bytes.push(Buffer.from(buffer));
    });
    const ids = [pool.base64url(16), pool.hex(16), pool.base64url(16), pool.base64url(16)];
    expect(pool.refills).to.equal(2);
    const [first, second] = bytes as [Buffer, Buffer];
    expect(ids).to.deep.equal([
      first.toString('base64url', 0, 16),
      first.toString('hex', 16, 32),
      first.toString('base64url', 32, 48),
      second.toString('base64url', 0, 16),
    ]);
    expect(ids[0]).to.match(/^[A-Za-z0-9_-]{22}$/);
    const seen = new Set(Array.from({ length: 20_000 }, () => randomBase64url(16)));
    expect(seen.size).to.equal(20_000);
    expect(() => pool.base64url(49)).to.throw(RangeError);
  });

  it('an id as long as the pool takes a whole refill; longer, zero or fractional lengths are refused', () => {
    const pool = new RandomPool(32);
    expect(pool.hex(32)).to.match(/^[0-9a-f]{64}$/);
    expect(pool.hex(32)).to.match(/^[0-9a-f]{64}$/);
    expect(pool.refills).to.equal(2);
    for (const bad of [0, -1, 33, 1.5, Number.NaN]) expect(() => pool.hex(bad)).to.throw(RangeError);
    expect(() => new RandomPool(0)).to.throw(RangeError);
  });

  it('the trace ids, span ids and the balancer request ids come from the shared pool', () => {
    const before = sharedRandomPool.refills;
    const n = 2_000;
    const ids = new Set<string>();
    for (let i = 0; i < n; i++) {
      const ctx = traceContextOf(undefined);
      expect(ctx.traceId).to.match(/^[0-9a-f]{32}$/);
      expect(ctx.spanId).to.match(/^[0-9a-f]{16}$/);
      const span = newSpanId();
      const requestId = assignedRequestId({ kind: 'none' });
      expect(requestId).to.match(/^lb-[0-9a-f]{24}$/);
      for (const id of [ctx.traceId, ctx.spanId, span, requestId]) ids.add(id);
    }
    expect(ids.size).to.equal(4 * n);
    // 44 bytes an iteration: one refill per ~93 iterations, not one randomBytes call per id.
    const refills = sharedRandomPool.refills - before;
    expect(refills).to.be.at.least(Math.floor((44 * n) / RANDOM_POOL_BYTES));
    expect(refills).to.be.at.most(Math.ceil((44 * n) / RANDOM_POOL_BYTES) + 1);
  });
});
