/** How the `bank` CLI finds its URL and credentials: flags, then env, then a credentials file. */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliUsageError, resolveCliConfig, URL_DEFAULT } from '../client-ts/cli-config';

describe('cli: configuration precedence', () => {
  let dir = '';
  let file = '';
  let emptyDir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'distbank-cli-config-'));
    mkdirSync(join(dir, 'var'));
    emptyDir = join(dir, 'empty');
    mkdirSync(emptyDir);
    file = join(dir, 'var', 'demo-credentials.json');
    writeFileSync(
      file,
      JSON.stringify({
        url: 'http://127.0.0.1:9/bank',
        clients: [
          { clientId: 'alice', authToken: 'ta', accounts: ['1'] },
          { clientId: 'bob', authToken: 'tb', accounts: ['2'] },
        ],
      }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A working directory with no var/demo-credentials.json (inside dir, so after() removes it). */
  const nowhere = (): string => emptyDir;

  it('flags win over the environment', () => {
    const c = resolveCliConfig(
      { url: 'http://x/bank', clientId: 'f', token: 'ft' },
      { BANK_URL: 'http://e/bank', BANK_CLIENT_ID: 'e', BANK_AUTH_TOKEN: 'et' },
      nowhere(),
    );
    expect(c).to.include({ url: 'http://x/bank', clientId: 'f', authToken: 'ft' });
  });

  it('the environment alone works, with the default URL', () => {
    const c = resolveCliConfig({}, { BANK_CLIENT_ID: 'e', BANK_AUTH_TOKEN: 'et' }, nowhere());
    expect(c).to.include({ url: URL_DEFAULT, clientId: 'e', authToken: 'et' });
  });

  it('--credentials takes url, first client and token from the file; --as picks another', () => {
    expect(resolveCliConfig({ credentials: file }, {}, nowhere())).to.include({
      url: 'http://127.0.0.1:9/bank',
      clientId: 'alice',
      authToken: 'ta',
    });
    expect(resolveCliConfig({ credentials: file, as: 'bob' }, {}, nowhere())).to.include({
      clientId: 'bob',
      authToken: 'tb',
    });
  });

  it('an explicit file beats the environment, but not --token', () => {
    const env = { BANK_CLIENT_ID: 'e', BANK_AUTH_TOKEN: 'et' };
    expect(resolveCliConfig({ credentials: file, as: 'bob' }, env, nowhere())).to.include({
      clientId: 'bob',
      authToken: 'tb',
    });
    expect(resolveCliConfig({ credentials: file, as: 'bob', token: 'override' }, env, nowhere())).to.include({
      clientId: 'bob',
      authToken: 'override',
    });
  });

  it('./var/demo-credentials.json is found on its own, but only fills gaps', () => {
    expect(resolveCliConfig({}, {}, dir)).to.include({ clientId: 'alice', authToken: 'ta' });
    expect(resolveCliConfig({ clientId: 'bob' }, {}, dir)).to.include({ clientId: 'bob', authToken: 'tb' });
    expect(resolveCliConfig({}, { BANK_CLIENT_ID: 'e', BANK_AUTH_TOKEN: 'et' }, dir)).to.include({
      clientId: 'e',
      authToken: 'et',
      url: 'http://127.0.0.1:9/bank',
    });
    expect(resolveCliConfig({ as: 'bob' }, {}, dir)).to.include({ clientId: 'bob' });
  });

  it('BANK_DATA_DIR points at the demo file', () => {
    expect(resolveCliConfig({}, { BANK_DATA_DIR: join(dir, 'var') }, nowhere())).to.include({ clientId: 'alice' });
  });

  it('refuses what it cannot use, saying why', () => {
    expect(() => resolveCliConfig({}, {}, nowhere())).to.throw(CliUsageError, /--credentials/);
    expect(() => resolveCliConfig({ credentials: file, as: 'carol' }, {}, nowhere())).to.throw(
      CliUsageError,
      /no client "carol".*alice, bob/,
    );
    expect(() => resolveCliConfig({ credentials: join(dir, 'missing.json') }, {}, nowhere())).to.throw(
      CliUsageError,
      /cannot read/,
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"clients": [{"clientId": 1}]}');
    expect(() => resolveCliConfig({ credentials: bad }, {}, nowhere())).to.throw(CliUsageError, /clients/);
    expect(() => resolveCliConfig({ as: 'bob' }, {}, nowhere())).to.throw(
      CliUsageError,
      /--as bob needs --credentials/,
    );
  });
});
