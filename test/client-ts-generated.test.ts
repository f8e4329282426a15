/**
 * The committed client-ts/generated/ must be what client-ts/generate.ts makes from today's
 * wsdl/bank.wsdl. When this fails: `npx tsc -p tsconfig.json && node dist/client-ts/generate.js`
 * and commit the result.
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { generate, GENERATED_DIR } from '../client-ts/generate';

function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

describe('client-ts: generated code', () => {
  let scratch = '';
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'distbank-gen-test-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('is up to date with wsdl/bank.wsdl', async () => {
    await generate(scratch);
    const fresh = filesUnder(scratch);
    const committed = filesUnder(GENERATED_DIR);
    expect([...committed.keys()].sort(), 'file list').to.deep.equal([...fresh.keys()].sort());
    for (const [path, text] of fresh) {
      expect(
        committed.get(path),
        `client-ts/generated/${path} is stale: re-run node dist/client-ts/generate.js`,
      ).to.equal(text);
    }
  });

  it('types money and timestamps as text, never number or Date', () => {
    for (const [path, text] of filesUnder(GENERATED_DIR)) {
      expect(text, path).to.not.match(/(amount|balance|balanceAfter|initialDeposit)\??: number/);
      expect(text, path).to.not.match(/: Date;/);
    }
  });
});
