import Database from 'better-sqlite3';
import { expect } from 'chai';
import { fault, isServiceFault } from '../common/service-fault';
import { GroupCommitter } from '../server/group-commit';
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

describe('group commit: failures of the whole batch, and its queue bound', () => {
  function fullDatabase(): Database.Database {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x BLOB)');
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    return db;
  }

  it('a full disk fails every item with SQLITE_FULL (then SERVICE_UNAVAILABLE), not a savepoint error', async () => {
    const db = fullDatabase();
    const committer = new GroupCommitter(db, 512, 100);
    const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => committer.run(() => insert.run(Buffer.alloc(64 * 1024)))),
    );
    for (const r of results) {
      expect(r.status).to.equal('rejected');
      const error = (r as PromiseRejectedResult).reason as Error & { code?: string };
      expect(error.code, error.message).to.match(/^SQLITE_FULL/);
      expect(codeOf(error)).to.equal('SERVICE_UNAVAILABLE');
    }
    db.close();
  });

  it('past queuedItemsMax, a write is refused at once with SERVICE_UNAVAILABLE (retryable)', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x INTEGER)');
    const committer = new GroupCommitter(db, 512, 2);
    const results = await Promise.allSettled(
      [1, 2, 3].map((x) => committer.run(() => db.prepare('INSERT INTO t (x) VALUES (?)').run(x))),
    );
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'rejected']);
    const refused = (results[2] as PromiseRejectedResult).reason as unknown;
    expect(isServiceFault(refused) && refused.code === 'SERVICE_UNAVAILABLE' && refused.retryable).to.equal(true);
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).to.deep.equal({ n: 2 });
    db.close();
  });
});
