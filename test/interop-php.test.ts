import { interopSuite } from './helpers/interop-suite';
import { clientSource } from './helpers/interop';

/**
 * PHP SoapClient (Debian `php-cli` + `php-soap`): reads the served WSDL at run time (WSDL cache
 * off), header blocks as SoapHeader objects, BankFault from SoapFault::$detail. Nothing to
 * generate or compile.
 */
interopSuite({
  stack: 'php',
  title: 'PHP SoapClient (ext/soap)',
  packages: 'php-cli php-soap',
  probes: [['php', ['-r', 'exit(extension_loaded("soap") ? 0 : 1);']]],
  async client(ctx) {
    return (
      await ctx.stage('run', () =>
        ctx.exec('php', ['-d', 'soap.wsdl_cache_enabled=0', clientSource('php', 'bank-interop.php')]),
      )
    ).stdout;
  },
});
