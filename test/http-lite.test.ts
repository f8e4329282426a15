import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { HttpLiteClient, HttpLiteError, ResponseReader } from '../common/http-lite';

/**
 * The small HTTP/1.1 client of the business servers (to the data tier) and of the balancer (to
 * the business servers), common/http-lite.ts: the response reader on crafted bytes (fed whole
 * and byte by byte), and the client against real node http servers.
 */
function feed(reader: ResponseReader, text: string, byteByByte: boolean) {
  const bytes = Buffer.from(text, 'latin1');
  if (!byteByByte) return reader.push(bytes);
  let result;
  for (let i = 0; i < bytes.length; i++) {
    expect(result, `complete before byte ${i}`).to.equal(undefined);
    result = reader.push(bytes.subarray(i, i + 1));
  }
  return result;
}

describe('http-lite: response reader', () => {
  for (const byteByByte of [false, true]) {
    const how = byteByByte ? 'byte by byte' : 'whole';
    it(`reads a Content-Length body (${how})`, () => {
      const r = feed(new ResponseReader(1000), 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello', byteByByte);
      expect(r?.status).to.equal(200);
      expect(r?.body.toString()).to.equal('hello');
    });
    it(`reads a chunked body with extensions and trailers (${how})`, () => {
      const reader = new ResponseReader(1000);
      const r = feed(
        reader,
        'HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
          '3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n',
        byteByByte,
      );
      expect(r?.status).to.equal(500);
      expect(r?.body.toString()).to.equal('abc0123456789');
      expect(reader.closeAfter).to.equal(true);
    });
  }

  it('keeps the header fields as received (name, value, …), for a proxy to relay', () => {
    const r = new ResponseReader(1000).push(
      Buffer.from(
        'HTTP/1.1 500 Oops\r\nContent-Type: text/xml\r\nSet-Cookie: a=1\r\nset-cookie:  b=2 \r\nContent-Length: 1\r\n\r\nx',
      ),
    );
    expect(r?.status).to.equal(500);
    expect(r?.headers).to.deep.equal([
      'Content-Type',
      'text/xml',
      'Set-Cookie',
      'a=1',
      'set-cookie',
      'b=2',
      'Content-Length',
      '1',
    ]);
  });

  it('refuses header names that are not tokens and values with control characters', () => {
    const bad = (line: string): void => {
      const text = `HTTP/1.1 200 OK\r\n${line}\r\nContent-Length: 0\r\n\r\n`;
      expect(() => new ResponseReader(1000).push(Buffer.from(text, 'latin1')), JSON.stringify(line)).to.throw();
    };
    bad('X Y: z');
    bad('X-Y : z');
    bad(' X-Y: z');
    bad('X(Y): z');
    bad('X-Y: a\rb');
    bad('X-Y: a\nb');
    bad('X-Y: a\u0000b');
    bad('X-Y: a\u007fb');
    expect(
      new ResponseReader(1000).push(
        Buffer.from('HTTP/1.1 200 OK\r\nX-Y: a\tb é\r\nContent-Length: 0\r\n\r\n', 'latin1'),
      )?.headers,
    ).to.deep.equal(['X-Y', 'a\tb é', 'Content-Length', '0']);
  });

  it("reads the server's keep-alive hint", () => {
    const reader = new ResponseReader(1000);
    reader.push(Buffer.from('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n'));
    expect(reader.keepAliveMs).to.equal(5000);
    const none = new ResponseReader(1000);
    none.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    expect(none.keepAliveMs).to.equal(undefined);
  });

  it('reads a body that runs to the end of the connection', () => {
    const reader = new ResponseReader(1000);
    expect(reader.push(Buffer.from('HTTP/1.0 200 OK\r\n\r\npart one, '))).to.equal(undefined);
    expect(reader.push(Buffer.from('part two'))).to.equal(undefined);
    expect(reader.end().body.toString()).to.equal('part one, part two');
    expect(reader.closeAfter).to.equal(true);
  });

  it('refuses what it does not understand', () => {
    const bad = (text: string, max = 1000): void => {
      expect(() => new ResponseReader(max).push(Buffer.from(text, 'latin1')), text).to.throw();
    };
    bad('HTTP/2 200 OK\r\n\r\n');
    bad('SSH-2.0-OpenSSH\r\n\r\n');
    bad('HTTP/1.1 100 Continue\r\n\r\n');
    bad('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc');
    bad('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n');
    bad('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na');
    bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n');
    bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n');
    bad('HTTP/1.1 200 OK\r\nbroken header\r\n\r\n');
    bad('HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n', 1000);
    bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7D0\r\n' + 'x'.repeat(1500), 1000);
    const incomplete = new ResponseReader(1000);
    incomplete.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc'));
    expect(() => incomplete.end()).to.throw(/before the response was complete/);
  });
});

describe('http-lite: client against real servers', () => {
  const servers: http.Server[] = [];
  async function serve(
    handler: http.RequestListener,
  ): Promise<{ server: http.Server; port: number; connections: () => number }> {
    let connections = 0;
    const server = http.createServer(handler);
    server.on('connection', () => connections++);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    return { server, port: (server.address() as net.AddressInfo).port, connections: () => connections };
  }
  function client(port: number, socketsMax = 4, idleSocketMs = 4000): HttpLiteClient {
    return new HttpLiteClient(
      { host: '127.0.0.1', port, socketsMax, idleSocketMs, responseBytesMax: 1 << 20 },
      '/data',
      'Content-Type: text/xml\r\n',
    );
  }
  const echo: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('x-action', String(req.headers['soapaction']));
      // write + end: node answers chunked, as node-soap does.
      res.write(`${String(req.method)} ${String(req.url)} ${String(req.headers['content-type'])} `);
      res.end(Buffer.concat(chunks));
    });
  };

  after(() => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
  });

  it('sends one POST with the headers given and reads the answer; reuses one socket', async () => {
    const { port, connections } = await serve(echo);
    const c = client(port);
    for (let i = 0; i < 5; i++) {
      const r = await c.post('SOAPAction: "urn:x#Op"\r\n', `body ${i} é`, 1000);
      expect(r.status).to.equal(200);
      expect(r.body.toString()).to.equal(`POST /data text/xml body ${i} é`);
    }
    expect(connections()).to.equal(1);
    c.close();
  });

  it('keeps at most socketsMax sockets and queues the rest', async () => {
    let inFlight = 0;
    let peak = 0;
    const { port, connections } = await serve((req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      req.resume();
      setTimeout(() => {
        inFlight--;
        res.end('ok');
      }, 20);
    });
    const c = client(port, 2);
    const answers = await Promise.all(Array.from({ length: 8 }, () => c.post('', 'x', 2000)));
    expect(answers.every((a) => a.body.toString() === 'ok')).to.equal(true);
    expect(peak).to.equal(2);
    expect(connections()).to.equal(2);
    c.close();
  });

  it('times out a call that gets no answer and frees its socket', async () => {
    const { port } = await serve((req) => req.resume());
    const c = client(port, 1);
    const startedMs = Date.now();
    const error = await c.post('', 'x', 150).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(HttpLiteError);
    expect(Date.now() - startedMs).to.be.within(140, 1000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(c.openSockets).to.equal(0);
    c.close();
  });

  it('opens a fresh socket after the server closed an idle one, and after Connection: close', async () => {
    const { port, server, connections } = await serve((req, res) => {
      req.resume();
      if (req.headers['x-close'] === '1') res.setHeader('Connection', 'close');
      res.end('ok');
    });
    const c = client(port);
    expect((await c.post('', 'a', 1000)).body.toString()).to.equal('ok');
    server.closeIdleConnections(); // as a server's keep-alive timeout would
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(c.openSockets).to.equal(0);
    expect((await c.post('', 'b', 1000)).body.toString()).to.equal('ok');
    expect((await c.post('X-Close: 1\r\n', 'c', 1000)).body.toString()).to.equal('ok');
    expect((await c.post('', 'd', 1000)).body.toString()).to.equal('ok');
    expect(connections()).to.equal(3);
    c.close();
  });

  it('closes its own idle sockets after idleSocketMs', async () => {
    const { port } = await serve(echo);
    const c = client(port, 4, 50);
    await c.post('', 'a', 1000);
    expect(c.openSockets).to.equal(1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(c.openSockets).to.equal(0);
    expect((await c.post('', 'b', 1000)).status).to.equal(200);
    c.close();
  });

  it('fails at once when nothing listens', async () => {
    const { port, server } = await serve(echo);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const c = client(port);
    const startedMs = Date.now();
    const error = await c.post('', 'x', 5000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(HttpLiteError);
    expect((error as HttpLiteError).kind).to.equal('failed');
    expect(Date.now() - startedMs).to.be.below(500);
    c.close();
  });

  it('sends a Buffer body with the header lines given, and hands back status, headers and body', async () => {
    const { port } = await serve(echo);
    const c = client(port);
    const r = await c.post('SOAPAction: "urn:x#Op"\r\nrequest-id: k-1\r\n', Buffer.from('bytes é'), 1000);
    expect(r.status).to.equal(200);
    expect(r.body.toString()).to.equal('POST /data text/xml bytes é');
    const names = r.headers.filter((_v, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names).to.include.members(['x-action', 'transfer-encoding', 'date']);
    expect(r.headers[r.headers.findIndex((n) => n.toLowerCase() === 'x-action') + 1]).to.equal('"urn:x#Op"');
    c.close();
  });

  const failure = (promise: Promise<unknown>): Promise<HttpLiteError> =>
    promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => {
        expect(e).to.be.instanceOf(HttpLiteError);
        return e as HttpLiteError;
      },
    );

  it('fails an answer over responseBytesMax as too-large, with its status (the answer came)', async () => {
    const { port } = await serve((req, res) => {
      req.resume();
      res.writeHead(500, { 'content-length': 5000 }).end('y'.repeat(5000));
    });
    const declared = new HttpLiteClient(
      { host: '127.0.0.1', port, socketsMax: 1, idleSocketMs: 4000, responseBytesMax: 4096 },
      '/data',
      '',
    );
    const error = await failure(declared.post('', 'x', 1000));
    expect(error.kind).to.equal('too-large');
    expect(error.status).to.equal(500);
    declared.close();
  });

  it('gives the head timeoutMs and the whole answer answerTimeoutMs; a break after the head carries its status', async () => {
    const { port } = await serve((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': 100 });
      res.write('partial');
      if (req.headers['x-break'] === '1') setTimeout(() => req.socket.destroy(), 50);
    });
    const c = client(port, 2);
    const startedMs = Date.now();
    const stalled = await failure(c.post('', 'x', 100, 400));
    expect(Date.now() - startedMs).to.be.within(380, 2000);
    expect(stalled.kind).to.equal('failed');
    expect(stalled.status).to.equal(200);
    const headless = await failure(c.post('', 'x', 100));
    expect(headless.status).to.equal(200);
    const broken = await failure(c.post('X-Break: 1\r\n', 'x', 1000));
    expect(broken.kind).to.equal('failed');
    expect(broken.status).to.equal(200);
    c.close();
  });

  it("closes an idle socket before the server's keep-alive hint runs out", async () => {
    const { port, server, connections } = await serve(echo);
    server.keepAliveTimeout = 1500; // hint "timeout=1": the socket must not be kept idle at all
    const c = client(port, 1);
    expect((await c.post('', 'a', 1000)).status).to.equal(200);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(c.openSockets).to.equal(0);
    expect((await c.post('', 'b', 1000)).status).to.equal(200);
    expect(connections()).to.equal(2);
    c.close();
  });

  it('calls a reused socket that dies before answering stale (safe to resend), a fresh one failed', async () => {
    let calls = 0;
    const { port } = await serve((req, res) => {
      calls++;
      req.resume();
      if (calls === 1) res.end('ok');
      else req.socket.destroy();
    });
    const c = client(port, 1);
    await c.post('', 'a', 1000);
    const reused = await c.post('', 'b', 1000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((reused as HttpLiteError).kind).to.equal('stale');
    const fresh = await c.post('', 'c', 1000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((fresh as HttpLiteError).kind).to.equal('failed');
    c.close();
  });
});
