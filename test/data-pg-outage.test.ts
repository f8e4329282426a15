import { expect } from 'chai';
import net from 'node:net';
import { DataFixture, lockOf, postgresBackend } from './helpers/data-server';
import { ifAssigned } from './helpers/if-assigned';

// PostgreSQL goes away under a running data server (a TCP proxy in between is cut): calls fail
// fast with SERVICE_UNAVAILABLE (retryable, soap:Server), never INTERNAL_ERROR; when the database
// is back, the same server serves again and a retried Update lands exactly once.
class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('data server over PostgreSQL: the database goes away and comes back', function () {
  let fx: DataFixture;
  let proxy: TcpProxy;
  before(async function () {
    const url = process.env.TEST_DATABASE_URL;
    if (url === undefined || url === '') {
      if (process.env.CI) throw new Error('TEST_DATABASE_URL is not set under CI: the PostgreSQL suite must run there');
      this.skip();
    }
    const target = new URL(url);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    fx = await DataFixture.start(postgresBackend(url), { DATABASE_URL: proxied.toString() });
  });
  after(async () => {
    await ifAssigned(proxy)?.cut();
    await ifAssigned(fx)?.stop();
  });

  it('answers SERVICE_UNAVAILABLE while the database is unreachable, and recovers', async () => {
    const [a, b] = [await fx.createAccount('10.00'), await fx.createAccount('0.00')];
    const lock = lockOf(await fx.lock([a, b], 'b1', { leaseMs: 30_000 }));
    const port = proxy.port;
    await proxy.cut();
    const tx = fx.uniqueId('outage');
    for (const call of [
      () => fx.call('Read', [['accountId', a]]),
      () =>
        fx.update(lock, tx, [
          [a, '-2.00'],
          [b, '2.00'],
        ]),
      () => fx.lock([a]),
    ]) {
      const started = Date.now();
      const r = await call();
      expect(r.httpStatus).to.equal(500);
      expect(r.fault, r.raw.slice(0, 300)).to.deep.include({ code: 'SERVICE_UNAVAILABLE', retryable: true });
      expect(r.fault?.faultcode).to.match(/:Server$/);
      expect(Date.now() - started).to.be.below(8000);
    }
    await proxy.start(port);
    // The pool drops dead connections and opens new ones: the retry of the same Update lands once.
    let retried = await fx.update(lock, tx, [
      [a, '-2.00'],
      [b, '2.00'],
    ]);
    for (let attempt = 0; attempt < 5 && retried.fault?.code === 'SERVICE_UNAVAILABLE'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      retried = await fx.update(lock, tx, [
        [a, '-2.00'],
        [b, '2.00'],
      ]);
    }
    expect(retried.fault).to.equal(undefined);
    const again = await fx.update(
      lock,
      tx,
      [
        [a, '-2.00'],
        [b, '2.00'],
      ],
      'b1',
      true,
    );
    expect(again.body).to.deep.include({ replayed: 'true', released: 'true' });
    const state = await fx.balances([a, b]);
    expect([state.get(a)?.balance, state.get(b)?.balance]).to.deep.equal(['8.00', '2.00']);
  });
});
