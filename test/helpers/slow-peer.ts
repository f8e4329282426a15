import http from 'node:http';
import net from 'node:net';
import { SOAP_CONTENT_TYPE } from '../../common/contract';

/**
 * Raw TCP peers for the slow-peer tests: a connection that sends what and when the test says
 * (a dribble of header or body bytes, or nothing), and records what came back and when it was
 * closed. Loopback only: localAddress picks a source in 127.0.0.0/8, so one test can play
 * several remote addresses.
 */
export interface RawPeer {
  readonly socket: net.Socket;
  readonly openedAtMs: number;
  /** Everything the server sent, as text. */
  received(): string;
  /** Resolves with the time (Date.now()) the connection closed, however it closed. */
  readonly closed: Promise<number>;
  isClosed(): boolean;
  /** Writes text one character per intervalMs until the connection closes or stop() is called. */
  dribble(text: string, intervalMs: number): void;
  stop(): void;
}

export function openPeer(port: number, localAddress = '127.0.0.1'): Promise<RawPeer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    const chunks: Buffer[] = [];
    let closedFlag = false;
    let timer: NodeJS.Timeout | undefined;
    const closed = new Promise<number>((done) =>
      socket.once('close', () => {
        closedFlag = true;
        clearInterval(timer);
        done(Date.now());
      }),
    );
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // a reset is one of the outcomes under test
    socket.once('connect', () => {
      socket.off('error', reject);
      const peer: RawPeer = {
        socket,
        openedAtMs: Date.now(),
        received: () => Buffer.concat(chunks).toString('utf8'),
        closed,
        isClosed: () => closedFlag,
        dribble(text: string, intervalMs: number) {
          let i = 0;
          clearInterval(timer);
          timer = setInterval(() => {
            if (closedFlag || socket.destroyed) return clearInterval(timer);
            socket.write(text[i % text.length] ?? 'x');
            i++;
          }, intervalMs);
        },
        stop() {
          clearInterval(timer);
          socket.destroy();
        },
      };
      resolve(peer);
    });
    socket.once('error', reject);
  });
}

/** The status line's code and the body of a raw HTTP/1.1 answer. */
export function parseRawAnswer(text: string): { status: number; body: string } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const split = text.indexOf('\r\n\r\n');
  return { status, body: split < 0 ? '' : text.slice(split + 4) };
}

/** GET /health as the admin on a connection of its own (closed after), so it holds nothing. */
export function adminHealth(baseUrl: string, token: string): Promise<Record<string, unknown>> {
  const url = new URL('/health', baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        agent: false,
        headers: { authorization: `Bearer ${token}`, connection: 'close' },
        timeout: 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('health timed out')));
    req.on('error', reject);
  });
}

export const SOAP_POST_HEAD = (contentLength: number): string =>
  `POST /bank HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${SOAP_CONTENT_TYPE}\r\nContent-Length: ${contentLength}\r\n\r\n`;

export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  return sortedMs[Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1)]!;
}
