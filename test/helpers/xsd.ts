import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * xmllint as the judge of what a WSDL's schema accepts: the tests that hold a service's verdict
 * on lexical forms equal to `xmllint --schema`'s (wsdl-lexical, console-faults).
 */
/** The XSD of a WSDL's one inline schema, with the WSDL's namespace declarations carried over. */
export function schemaOfWsdl(wsdl: string): string {
  const start = wsdl.indexOf('<xsd:schema');
  const end = wsdl.indexOf('</xsd:schema>');
  const definitions = /<wsdl:definitions\b[^>]*>/.exec(wsdl)?.[0] ?? '';
  if (start < 0 || end < 0 || definitions === '') throw new Error('no inline xsd:schema in the WSDL');
  const declarations = [...definitions.matchAll(/\sxmlns:(\w+)="([^"]*)"/g)]
    .map((m) => ` xmlns:${m[1]!}="${m[2]!}"`)
    .join('');
  return wsdl.slice(start, end + '</xsd:schema>'.length).replace('<xsd:schema', `<xsd:schema${declarations}`);
}

/** xmllint's verdict (valid or not) on each document against the schema, in one run. */
export function xsdVerdicts(schema: string, documents: readonly string[]): boolean[] {
  const dir = mkdtempSync(join(tmpdir(), 'distbank-lexical-'));
  try {
    writeFileSync(join(dir, 'schema.xsd'), schema);
    const files = documents.map((doc, i) => {
      const file = join(dir, `${i}.xml`);
      writeFileSync(file, doc);
      return file;
    });
    const run = spawnSync('xmllint', ['--noout', '--schema', join(dir, 'schema.xsd'), ...files], { encoding: 'utf8' });
    if (run.error !== undefined) throw run.error;
    const verdicts = new Map<string, boolean>();
    for (const line of run.stderr.split('\n')) {
      const m = /^(.*\.xml) (validates|fails to validate)$/.exec(line);
      if (m !== null) verdicts.set(m[1]!, m[2] === 'validates');
    }
    return files.map((file) => {
      const verdict = verdicts.get(file);
      if (verdict === undefined) throw new Error(`xmllint gave no verdict for ${file}: ${run.stderr.slice(0, 2000)}`);
      return verdict;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
