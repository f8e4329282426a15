import { interopSuite } from './helpers/interop-suite';
import { clientSource } from './helpers/interop';

/**
 * gSOAP 2.8 (Debian `gsoap` + `libgsoap-dev`): wsdl2h reads the served WSDL into a header file,
 * soapcpp2 -j -C generates a C++ client proxy, g++ links it with libgsoap++. gSOAP sends every
 * header block with mustUnderstand="1" and maps xsd:decimal to std::string.
 */
const GSOAP_IMPORT_DIR = '/usr/share/gsoap/import';
const GSOAP_TYPEMAP = '/usr/share/gsoap/WS/typemap.dat';

interopSuite({
  stack: 'gsoap',
  title: 'gSOAP (wsdl2h + soapcpp2, C++)',
  packages: 'gsoap libgsoap-dev g++',
  probes: [
    ['which', ['wsdl2h']],
    ['soapcpp2', ['-h']],
    ['test', ['-r', GSOAP_TYPEMAP]],
    ['g++', ['--version']],
  ],
  async client(ctx) {
    await ctx.stage('wsdl2h', () => ctx.exec('wsdl2h', ['-o', 'bank.h', '-t', GSOAP_TYPEMAP, ctx.wsdlUrl]));
    await ctx.stage('soapcpp2', () =>
      ctx.exec('soapcpp2', ['-j', '-C', '-x', '-L', `-I${GSOAP_IMPORT_DIR}`, 'bank.h']),
    );
    await ctx.stage('g++', () =>
      ctx.exec('g++', [
        '-O0',
        '-w',
        '-I.',
        '-o',
        'bank_interop',
        clientSource('gsoap', 'bank_interop.cpp'),
        'soapC.cpp',
        'soapBankBindingProxy.cpp',
        '-lgsoap++',
      ]),
    );
    return (await ctx.stage('run', () => ctx.exec('./bank_interop', []))).stdout;
  },
});
