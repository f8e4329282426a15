import { interopSuite } from './helpers/interop-suite';
import { clientSource } from './helpers/interop';

/**
 * suds (Debian `python3-suds`, suds-community 1.1) on Debian's /usr/bin/python3: reads the
 * served WSDL at run time (cache off), header blocks by part name in `soapheaders`, BankFault
 * from WebFault.fault.detail. Nothing to generate or compile.
 */
const PYTHON = '/usr/bin/python3';

interopSuite({
  stack: 'suds',
  title: 'suds (Python)',
  packages: 'python3-suds',
  probes: [[PYTHON, ['-c', 'import suds.client']]],
  async client(ctx) {
    return (await ctx.stage('run', () => ctx.exec(PYTHON, [clientSource('suds', 'bank_interop.py')]))).stdout;
  },
});
