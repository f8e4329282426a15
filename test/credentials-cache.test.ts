import { expect } from 'chai';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, hashToken, newToken, VERIFIED_PAIRS_MAX } from '../common/credentials';
import { createLogger } from '../common/logger';
import { ReloadingCredentials } from '../common/reloading-credentials';

/** Writes the credentials file atomically, as `npm run admin` does. */
function writeCredentials(path: string, principals: Record<string, string>): void {
  const file = {
    principals: Object.entries(principals).map(([id, token]) => ({ id, tokenSha256: hashToken(token) })),
  };
  writeFileSync(`${path}.tmp`, JSON.stringify(file));
  renameSync(`${path}.tmp`, path);
}

describe('credentials: the cache of verified (id, token) pairs', () => {
  const logger = createLogger({ service: 'test', level: 'error' });
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'distbank-creds-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('a repeated success is remembered; failures, unknown ids and a right token under another id never are', () => {
    const alice = newToken();
    const bob = newToken();
    const store = new CredentialStore({
      principals: [
        { id: 'alice', tokenSha256: hashToken(alice) },
        { id: 'bob', tokenSha256: hashToken(bob) },
      ],
    });
    for (let i = 0; i < 3; i++) {
      expect(store.verify('alice', `${alice}x`)).to.equal(false);
      expect(store.verify('alice', bob)).to.equal(false);
      expect(store.verify('carol', alice)).to.equal(false);
      expect(store.verify('alice', '')).to.equal(false);
      expect(store.verify(undefined, alice)).to.equal(false);
    }
    expect(store.verifiedPairs).to.equal(0);
    expect(store.verify('alice', alice)).to.equal(true);
    expect(store.verifiedPairs).to.equal(1);
    expect(store.verify('alice', alice)).to.equal(true);
    expect(store.verifiedPairs).to.equal(1);
    // The cached pair is the exact pair: near misses and the token under another id stay refused.
    expect(store.verify('bob', alice)).to.equal(false);
    expect(store.verify('alice', alice.slice(0, -1))).to.equal(false);
    expect(store.verify('alice', `${alice} `)).to.equal(false);
    expect(store.verify('alic', `e\n${alice}`)).to.equal(false);
    expect(store.verifiedPairs).to.equal(1);
  });

  it(`remembers at most ${VERIFIED_PAIRS_MAX} pairs, and still verifies past that`, () => {
    const n = VERIFIED_PAIRS_MAX + 50;
    const tokens = Array.from({ length: n }, () => newToken());
    const store = new CredentialStore({
      principals: tokens.map((t, i) => ({ id: `p${i}`, tokenSha256: hashToken(t) })),
    });
    for (let round = 0; round < 2; round++) {
      tokens.forEach((t, i) => {
        expect(store.verify(`p${i}`, t)).to.equal(true);
      });
      expect(store.verifiedPairs).to.equal(VERIFIED_PAIRS_MAX);
    }
    expect(store.verify('p0', tokens[1])).to.equal(false);
  });

  it('a revoked or rotated token is refused right after the reload, though it was cached', () => {
    const path = join(dir, 'credentials.json');
    const old = newToken();
    const rotated = newToken();
    const bob = newToken();
    writeCredentials(path, { alice: old, bob });
    const credentials = new ReloadingCredentials(path, 0, logger);
    for (let i = 0; i < 3; i++) {
      expect(credentials.verify('alice', old)).to.equal(true);
      expect(credentials.verify('bob', bob)).to.equal(true);
    }
    writeCredentials(path, { alice: rotated }); // alice rotated, bob revoked
    expect(credentials.verify('alice', old)).to.equal(false);
    expect(credentials.verify('bob', bob)).to.equal(false);
    expect(credentials.verify('alice', rotated)).to.equal(true);
    expect(credentials.verify('alice', old)).to.equal(false);
  });
});
