import { expect } from 'chai';
import {
  LIST_ITEMS_MAX,
  parseTraceparent,
  TEXT_CHARS_MAX,
  traceContextOf,
  traceparentOf,
  TraceEntry,
  TraceRing,
} from '../common/trace-ring';

const entry = (i: number, over: Partial<TraceEntry> = {}): TraceEntry => ({
  atMs: i,
  service: 'data',
  kind: 'request',
  requestId: `r${i}`,
  traceId: 't',
  spanId: 's',
  parentSpanId: 'p',
  operation: 'Lock',
  outcome: 'ok',
  durationMs: 1,
  ...over,
});

describe('trace ring and W3C traceparent', () => {
  it('keeps at most its capacity, overwriting the oldest', () => {
    const ring = new TraceRing(3);
    for (let i = 0; i < 10; i++) ring.add(entry(i));
    expect(ring.size).to.equal(3);
    expect(ring.recent(10).map((e) => e.requestId)).to.deep.equal(['r9', 'r8', 'r7']);
    expect(ring.find('r2')).to.deep.equal([]);
    expect(ring.find('r8').map((e) => e.atMs)).to.deep.equal([8]);
  });

  it('cuts every text and list, so an entry cannot grow with its input', () => {
    const ring = new TraceRing(1);
    ring.add(
      entry(1, {
        operation: 'x'.repeat(10_000),
        accounts: Array.from({ length: 1000 }, (_v, i) => String(i)),
        detail: { big: 'y'.repeat(5000) },
      }),
    );
    const [e] = ring.recent(1);
    expect(e!.operation).to.have.length(TEXT_CHARS_MAX);
    expect(e!.accounts).to.have.length(LIST_ITEMS_MAX);
    expect(e!.detail!.big).to.have.length(TEXT_CHARS_MAX);
  });

  it('keeps the first LIST_ITEMS_MAX detail pairs, in order, keys and values cut', () => {
    const ring = new TraceRing(1);
    const detail = Object.fromEntries(Array.from({ length: 100 }, (_v, i) => [`k${i}${'z'.repeat(200)}`, `v${i}`]));
    ring.add(entry(1, { detail }));
    const kept = ring.recent(1)[0]!.detail!;
    const keys = Object.keys(kept);
    expect(keys).to.have.length(LIST_ITEMS_MAX);
    keys.forEach((key, i) => {
      expect(key).to.equal(`k${i}${'z'.repeat(200)}`.slice(0, TEXT_CHARS_MAX));
      expect(kept[key]).to.equal(`v${i}`);
    });
  });

  it('finds by request id, trace id or transaction id, oldest first', () => {
    const ring = new TraceRing(10);
    ring.add(entry(1, { traceId: 'abc' }));
    ring.add(entry(2, { transactionId: 'tx1' }));
    ring.add(entry(3, { traceId: 'abc' }));
    expect(ring.find('abc').map((e) => e.atMs)).to.deep.equal([1, 3]);
    expect(ring.find('tx1').map((e) => e.atMs)).to.deep.equal([2]);
  });

  it('continues a valid traceparent with a new span, and starts a trace for an absent or invalid one', () => {
    const given = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const ctx = traceContextOf(given);
    expect(ctx.traceId).to.equal('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(ctx.parentSpanId).to.equal('00f067aa0ba902b7');
    expect(ctx.spanId)
      .to.match(/^[0-9a-f]{16}$/)
      .and.not.equal('00f067aa0ba902b7');
    expect(traceparentOf(ctx)).to.equal(`00-4bf92f3577b34da6a3ce929d0e0e4736-${ctx.spanId}-01`);
    for (const bad of [
      undefined,
      '',
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    ]) {
      expect(parseTraceparent(bad), String(bad)).to.equal(undefined);
      const fresh = traceContextOf(bad);
      expect(fresh.traceId).to.match(/^[0-9a-f]{32}$/);
      expect(fresh.parentSpanId).to.equal('');
    }
  });
});
