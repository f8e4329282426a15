import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT_CODES, FAULT_CODE_NAMES } from '../common/fault-codes';
import { markdownTableRows } from './helpers/markdown-table';
import { REPO_DIR } from './helpers/process';

// One registry (common/fault-codes.ts); the WSDLs, the docs and the Python client follow it.
function enumerationIn(wsdlFile: string): string[] {
  const text = readFileSync(join(REPO_DIR, 'wsdl', wsdlFile), 'utf8');
  const block = /<xsd:simpleType name="FaultCode">([\s\S]*?)<\/xsd:simpleType>/.exec(text)?.[1] ?? '';
  return [...block.matchAll(/<xsd:enumeration value="([A-Z_]+)"\/>/g)].map((m) => m[1]!);
}

describe('fault registry', () => {
  const names = [...FAULT_CODE_NAMES].sort();

  for (const file of ['bank.wsdl', 'data.wsdl', 'admin.wsdl']) {
    it(`matches the FaultCode enumeration of ${file}`, () => {
      expect(enumerationIn(file).sort()).to.deep.equal(names);
    });
  }

  it('matches the table in wsdl/README.md, row by row', () => {
    const readme = readFileSync(join(REPO_DIR, 'wsdl', 'README.md'), 'utf8');
    const rows = markdownTableRows(readme).filter((cells) => /^`[A-Z_]+`$/.test(cells[0] ?? ''));
    const codeOf = (cells: string[]): string => (cells[0] ?? '').slice(1, -1);
    expect(rows.map(codeOf).sort()).to.deep.equal(names);
    for (const cells of rows) {
      const code = codeOf(cells);
      const info = FAULT_CODES[code as keyof typeof FAULT_CODES];
      expect(cells, code).to.have.length(4);
      expect(cells[1], code).to.equal(info.soapFaultCode);
      expect(cells[2] === 'yes', code).to.equal(info.retryable);
      expect(cells[3], code).to.equal(info.meaning);
    }
  });

  it('matches the Python client exception classes (client-py/distbank/errors.py)', function () {
    const errorsPy = join(REPO_DIR, 'client-py', 'distbank', 'errors.py');
    if (!existsSync(errorsPy)) {
      if (process.env.CI) throw new Error(`${errorsPy} is missing`);
      this.skip();
    }
    const script =
      'import json,sys; sys.path.insert(0, "client-py"); import importlib.util as u; ' +
      'spec = u.spec_from_file_location("errors", "client-py/distbank/errors.py"); m = u.module_from_spec(spec); spec.loader.exec_module(m); ' +
      'print(json.dumps({c: [k.__name__, k.retryable if isinstance(getattr(k, "retryable", None), bool) else None] for c, k in m.ERRORS_BY_CODE.items()}))';
    const out = execFileSync('/usr/bin/python3', ['-c', script], { cwd: REPO_DIR, encoding: 'utf8' });
    const byCode = JSON.parse(out) as Record<string, [string, boolean | null]>;
    expect(Object.keys(byCode).sort()).to.deep.equal(names);
    for (const code of names) {
      const camel = code.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase()) + 'Error';
      expect(byCode[code]![0], code).to.equal(camel);
    }
  });
});
