import { expect } from 'chai';
import { AdminCheck } from '../common/admin-routes';
import { ProcessMetrics } from '../common/metrics';
import { SoapObserver } from '../common/soap-observer';
import { TEXT_CHARS_MAX, traceContextOf } from '../common/trace-ring';

describe('soap observer: the admin endpoints it hands each request', () => {
  const allowAll: AdminCheck = { allows: () => true };
  const allowNone: AdminCheck = { allows: () => false };

  it('carry the extras set after it was built, and the admin check asked for', async () => {
    const observer = new SoapObserver(new ProcessMetrics('test'), 8);
    const first = observer.endpoints(allowAll);
    expect(first.state).to.equal(undefined);
    expect(first.ring).to.equal(observer.ring);
    expect(first.metrics).to.equal(observer.metrics);
    expect(observer.endpoints(allowAll)).to.deep.equal(first);
    observer.extras = { state: () => Promise.resolve({ tier: 'test' }) };
    const later = observer.endpoints(allowAll);
    expect(await later.state?.()).to.deep.equal({ tier: 'test' });
    expect(later.auth).to.equal(allowAll);
    expect(observer.endpoints(allowNone).auth).to.equal(allowNone);
    expect(observer.endpoints(allowAll).auth).to.equal(allowAll);
  });

  it('record() keeps { ...entry, service }: same keys in the same order, texts cut to their bound', () => {
    const observer = new SoapObserver(new ProcessMetrics('bank-b1'), 8);
    const entry = {
      atMs: 5,
      kind: 'call' as const,
      requestId: 'r1',
      traceId: 't'.repeat(200),
      spanId: 's1',
      parentSpanId: 'p1',
      operation: 'Lock',
      outcome: 'ok',
      durationMs: 2,
      peer: '127.0.0.1:1',
      accounts: ['1', '2'],
      detail: { retries: '1' },
    };
    observer.record(entry);
    const [kept] = observer.ring.recent(1);
    const expected = { ...entry, traceId: 't'.repeat(TEXT_CHARS_MAX), service: 'bank-b1' };
    expect(kept).to.deep.equal(expected);
    expect(Object.keys(kept ?? {})).to.deep.equal(Object.keys(expected));
  });

  it('a continued trace context has the keys of { ...parent, spanId } in that order', () => {
    const ctx = traceContextOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(Object.keys(ctx)).to.deep.equal(['traceId', 'parentSpanId', 'flags', 'spanId']);
    expect(ctx).to.include({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      parentSpanId: 'b7ad6b7169203331',
      flags: '01',
    });
  });
});
