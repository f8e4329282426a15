import { expect } from 'chai';
import { AdminCheck } from '../common/admin-routes';
import { ProcessMetrics } from '../common/metrics';
import { SoapObserver } from '../common/soap-observer';

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
});
