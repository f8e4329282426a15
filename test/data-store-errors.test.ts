import { expect } from 'chai';
import { fault, isServiceFault } from '../common/service-fault';
import { isTransientStoreError, storeFailure } from '../server/store-errors';

function codeOf(error: unknown): string {
  try {
    storeFailure(error);
  } catch (thrown) {
    return isServiceFault(thrown) ? thrown.code : 'RAW';
  }
  return 'NONE';
}

describe('store errors: transient database trouble becomes SERVICE_UNAVAILABLE (retryable)', () => {
  it('maps connection loss, shutdown, timeouts and SQLite busy/full/io errors', () => {
    const transient = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      Object.assign(new Error('too many connections'), { code: '53300' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }),
      Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }),
      Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }),
    ];
    for (const error of transient) {
      expect(isTransientStoreError(error), error.message).to.equal(true);
      expect(codeOf(error), error.message).to.equal('SERVICE_UNAVAILABLE');
    }
  });

  it('leaves programming errors, constraint violations and service faults alone', () => {
    const sticky = [
      new TypeError('x is undefined'),
      Object.assign(new Error('CHECK constraint failed'), { code: 'SQLITE_CONSTRAINT_CHECK' }),
      Object.assign(new Error('duplicate key'), { code: '23505' }),
      Object.assign(new Error('syntax error'), { code: '42601' }),
    ];
    for (const error of sticky) expect(codeOf(error), error.message).to.equal('RAW');
    expect(codeOf(fault('LOCK_EXPIRED', 'x'))).to.equal('LOCK_EXPIRED');
  });
});
