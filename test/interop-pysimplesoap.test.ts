import { interopSuite } from './helpers/interop-suite';
import { clientSource } from './helpers/interop';

/**
 * PySimpleSOAP (Debian `python3-pysimplesoap` 1.16) on Debian's /usr/bin/python3: a deliberately
 * naive WSDL reader. It sends only the header blocks it found in the WSDL, silently, so step c
 * (same transactionId, money moved once, checked in the bank's statement) is the proof that the
 * request-id reached the server. Nothing to generate or compile.
 */
const PYTHON = '/usr/bin/python3';

interopSuite({
  stack: 'pysimplesoap',
  title: 'PySimpleSOAP (Python)',
  packages: 'python3-pysimplesoap',
  probes: [[PYTHON, ['-c', 'import pysimplesoap.client']]],
  async client(ctx) {
    return (await ctx.stage('run', () => ctx.exec(PYTHON, [clientSource('pysimplesoap', 'bank_interop.py')]))).stdout;
  },
});
