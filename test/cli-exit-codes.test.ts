/**
 * The `bank` CLI and the Python CLI (client-py/distbank/cli.py) promise the same exit code for
 * each fault code; this keeps the two tables (and the registry) in step.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT_CODE_NAMES } from '../common/fault-codes';
import { EXIT, EXIT_CODE_BY_FAULT } from '../client-ts/exit-codes';
import { markdownTableRows } from './helpers/markdown-table';
import { REPO_DIR } from './helpers/process';

function pythonExitCodes(): Map<string, number> {
  const source = readFileSync(join(REPO_DIR, 'client-py', 'distbank', 'cli.py'), 'utf8');
  const constants = new Map<string, number>();
  for (const m of source.matchAll(/^(EXIT_[A-Z_]+)\s*=\s*(\d+)\s*$/gm)) constants.set(m[1]!, Number(m[2]));
  const table = /EXIT_CODES[^=]*=\s*\{([\s\S]*?)\}/.exec(source)?.[1];
  if (table === undefined) throw new Error('no EXIT_CODES table in client-py/distbank/cli.py');
  const byCode = new Map<string, number>();
  for (const m of table.matchAll(/"([A-Z_]+)"\s*:\s*(EXIT_[A-Z_]+)/g)) {
    const value = constants.get(m[2]!);
    if (value === undefined) throw new Error(`unknown constant ${m[2]!}`);
    byCode.set(m[1]!, value);
  }
  return byCode;
}

describe('cli: exit codes agree with the Python CLI', () => {
  it('maps every fault code of the registry, exactly like client-py', () => {
    const python = pythonExitCodes();
    expect([...python.keys()].sort()).to.deep.equal([...FAULT_CODE_NAMES].sort());
    for (const code of FAULT_CODE_NAMES) {
      expect(EXIT_CODE_BY_FAULT[code], code).to.equal(python.get(code));
    }
  });

  it('uses the documented numbers', () => {
    expect(EXIT).to.deep.equal({
      OK: 0,
      OTHER: 1,
      USAGE: 2,
      AUTHENTICATION: 3,
      NOT_ALLOWED: 4,
      INSUFFICIENT_FUNDS: 5,
      INVALID_INPUT: 6,
      RETRYABLE: 7,
    });
    const readme = readFileSync(join(REPO_DIR, 'client-ts', 'README.md'), 'utf8');
    for (const [code, exit] of Object.entries(EXIT_CODE_BY_FAULT)) {
      if (exit === EXIT.OTHER && !['REQUEST_ID_CONFLICT', 'INTERNAL_ERROR'].includes(code)) continue; // data-tier codes
      const row = markdownTableRows(readme)
        .find((cells) => cells[0] === String(exit))
        ?.join(' | ');
      expect(row, `README row for exit ${exit}`).to.be.a('string');
      expect(row, `README lists ${code} under exit ${exit}`).to.contain(code);
    }
  });
});
