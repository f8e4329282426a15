import { interopSuite } from './helpers/interop-suite';
import { clientSource } from './helpers/interop';

/**
 * JAX-WS RI (Debian `jaxws`, wsimport 2.3) on OpenJDK: `wsimport -XadditionalHeaders` turns the
 * bound header blocks into method parameters; an unset request-id is sent as
 * `<request-id xsi:nil="true"/>`. The classpath is jaxws-rt.jar alone (its manifest names the
 * rest); libaxis-java must not be on it (its old SAAJ breaks the RI).
 */
const JAXWS_CLASSPATH = '/usr/share/java/jaxws-rt.jar';

interopSuite({
  stack: 'jaxws',
  title: 'JAX-WS RI (wsimport)',
  packages: 'jaxws openjdk-17-jdk-headless',
  probes: [
    ['wsimport', ['-version']],
    ['javac', ['-version']],
    ['test', ['-r', JAXWS_CLASSPATH]],
  ],
  async client(ctx) {
    await ctx.stage('wsimport', () =>
      ctx.exec('wsimport', [
        '-XadditionalHeaders',
        '-Xnocompile',
        '-quiet',
        '-p',
        'distbank.interop.gen',
        '-s',
        '.',
        '-d',
        '.',
        ctx.wsdlUrl,
      ]),
    );
    const sources = (await ctx.exec('find', ['distbank', '-name', '*.java'])).stdout
      .split('\n')
      .filter((f) => f !== '');
    await ctx.stage('javac', () =>
      ctx.exec('javac', [
        '-nowarn',
        '-encoding',
        'UTF-8',
        '-cp',
        JAXWS_CLASSPATH,
        '-d',
        'classes',
        ...sources,
        clientSource('jaxws', 'BankInterop.java'),
      ]),
    );
    return (await ctx.stage('run', () => ctx.exec('java', ['-cp', `classes:${JAXWS_CLASSPATH}`, 'BankInterop'])))
      .stdout;
  },
});
