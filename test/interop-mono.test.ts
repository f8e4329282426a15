import { expect } from 'chai';
import { balanceOf, cents } from './helpers/cluster';
import { clientSource } from './helpers/interop';
import { interopSuite, success } from './helpers/interop-suite';

/**
 * Mono's ASMX stack (Debian `mono-devel`): `wsdl` generates a SoapHttpClientProtocol proxy from
 * the served WSDL, `mcs` compiles it with the client, `mono` runs it. It sends
 * `Expect: 100-continue` and, with RequestEncoding = Encoding.Unicode, a UTF-16 request.
 */
interopSuite(
  {
    stack: 'mono',
    title: 'Mono wsdl + mcs (ASMX, C#)',
    packages: 'mono-devel',
    probes: [
      ['mcs', ['--version']],
      ['mono', ['--version']],
      ['which', ['wsdl']],
    ],
    async client(ctx) {
      await ctx.stage('wsdl', () => ctx.exec('wsdl', ['-nologo', '-out:BankService.cs', ctx.wsdlUrl]));
      await ctx.stage('mcs', () =>
        ctx.exec('mcs', [
          '-nologo',
          '-warn:0',
          '-r:System.Web.Services.dll',
          '-r:System.Xml.dll',
          '-out:bank-interop.exe',
          'BankService.cs',
          clientSource('mono', 'BankInterop.cs'),
        ]),
      );
      return (await ctx.stage('run', () => ctx.exec('mono', ['bank-interop.exe']))).stdout;
    },
  },
  (run) => {
    it('a UTF-16 request (RequestEncoding = Encoding.Unicode) answers the balance', async () => {
      const line = success(run(), 'utf16', 'accountId', 'balance');
      const { cluster, aliceAccount } = run()!;
      expect(line['accountId']).to.equal(aliceAccount);
      // The last call of the program: the balance the bank holds now.
      expect(cents(line['balance']!)).to.equal(
        cents(await balanceOf(cluster.balancerUrl, cluster.client('alice'), aliceAccount)),
      );
    });
  },
);
