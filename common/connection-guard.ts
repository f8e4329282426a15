import type http from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionLimits } from './connection-limits';
import { SOAP_CONTENT_TYPE } from './contract';
import type { Logger } from './logger';

/**
 * Connection-level limits for every server that faces a network (the balancer, the business
 * and data servers' SOAP edge), in one place, so that a peer that opens connections and then
 * sends slowly or not at all cannot hold what real clients need:
 *
 * - headers deadline: a connection must deliver the complete headers of its next request within
 *   headersTimeoutMs of opening, or of its previous response; else HTTP 408 (with a SOAP fault
 *   body) and closed. A connection that sent nothing at all is just closed.
 * - body deadline: the body must follow within bodyTimeoutMs of the headers; else 408, closed.
 * - bounds on open connections, in total and per remote address: at the bound, the connection
 *   idle the longest (no request begun) is closed to make room; with none idle, the new
 *   connection gets HTTP 503 SERVICE_UNAVAILABLE (retryable) and is closed.
 *
 * Each connection has its own timer. Node's own requestTimeout/headersTimeout are only checked on
 * a 30 s sweep (connectionsCheckingInterval), so a configured 10 s lasted 10–40 s; they stay
 * set, a little longer, as a backstop. "A request has begun" is read from socket.bytesRead,
 * which node keeps even while its parser consumes the socket natively: no 'data' listener,
 * which would switch every connection to the slower JS read path.
 *
 * The servers keep their own bounds on what comes after (in-flight slots, deadlines); the
 * balancer takes an in-flight slot only once a whole, size-checked body is in hand.
 */
export type GuardFaultCode = 'INVALID_REQUEST' | 'SERVICE_UNAVAILABLE';
/** The SOAP fault envelope this server answers with, for the 408s and the 503. */
export type FaultBody = (code: GuardFaultCode, message: string) => string;

export interface ConnectionStats {
  readonly open: number;
  /** Connections waiting for a request that has not begun (what the bounds close first). */
  readonly idle: number;
  readonly addresses: number;
  readonly headersTimeoutsTotal: number;
  readonly bodyTimeoutsTotal: number;
  /** Idle connections closed to make room for a new one. */
  readonly idleClosedTotal: number;
  /** New connections answered 503 because the bound was reached with nothing idle. */
  readonly refusedTotal: number;
}

/** Node's own sweep-checked timeouts sit this far past ours, as a backstop only. */
const NODE_BACKSTOP_MS = 5_000;
/** A connection we answered and ended is destroyed after this even if the peer reads nothing. */
const CLOSE_GRACE_MS = 1_000;
/** Shed connections are logged as one summary line at most this often. */
const SUMMARY_INTERVAL_MS = 1_000;

interface Conn {
  readonly socket: Socket;
  readonly address: string;
  phase: 'waiting' | 'body' | 'busy' | 'closing';
  /** Date.now() when the phase began; what its deadline counts from. */
  phaseStartMs: number;
  /** socket.bytesRead when the connection began waiting for its next request. */
  bytesAtWait: number;
  /** Requests whose response has not finished (more than one when pipelined). */
  pending: number;
  /** The request whose body is being read (HTTP/1.1 reads one body at a time per connection). */
  req: http.IncomingMessage | undefined;
  res: http.ServerResponse | undefined;
  /**
   * One timer per connection, made once and refresh()ed at each phase change (cheaper than a
   * new timer per request: the balancer's whole cost is ~100 µs a request). Its period is the
   * shorter deadline; a phase with a longer one is re-checked by `later`.
   */
  readonly timer: NodeJS.Timeout;
  later: NodeJS.Timeout | undefined;
}

interface Peer {
  count: number;
  /** This address's waiting connections, longest-waiting first (a Set keeps insertion order). */
  readonly waiting: Set<Conn>;
}

type Counter = 'headersTimeoutsTotal' | 'bodyTimeoutsTotal' | 'idleClosedTotal' | 'refusedTotal';

export class ConnectionGuard {
  private readonly conns = new Map<Socket, Conn>();
  private readonly waiting = new Set<Conn>();
  private readonly peers = new Map<string, Peer>();
  private readonly counts: Record<Counter, number> = {
    headersTimeoutsTotal: 0,
    bodyTimeoutsTotal: 0,
    idleClosedTotal: 0,
    refusedTotal: 0,
  };
  private logged: Record<Counter, number> = { ...this.counts };
  private summaryTimer: NodeJS.Timeout | undefined;
  private readonly headersTimeoutResponse: Buffer;
  private readonly refusedResponse: Buffer;
  private readonly bodyTimeoutBody: string;
  private readonly periodMs: number;

  constructor(
    server: http.Server,
    private readonly limits: ConnectionLimits,
    faultBody: FaultBody,
    private readonly logger: Logger,
  ) {
    this.periodMs = Math.min(limits.headersTimeoutMs, limits.bodyTimeoutMs);
    server.keepAliveTimeout = limits.keepAliveMs;
    server.headersTimeout = limits.headersTimeoutMs + NODE_BACKSTOP_MS;
    server.requestTimeout = limits.headersTimeoutMs + limits.bodyTimeoutMs + NODE_BACKSTOP_MS;
    this.headersTimeoutResponse = rawResponse(
      408,
      'Request Timeout',
      faultBody('INVALID_REQUEST', `the request headers did not arrive within ${limits.headersTimeoutMs} ms`),
    );
    this.refusedResponse = rawResponse(
      503,
      'Service Unavailable',
      faultBody('SERVICE_UNAVAILABLE', 'too many open connections; retry later'),
    );
    this.bodyTimeoutBody = faultBody(
      'INVALID_REQUEST',
      `the request body did not arrive within ${limits.bodyTimeoutMs} ms`,
    );
    server.on('connection', (socket: Socket) => this.onConnection(socket));
  }

  /** For the admin's /health details: O(waiting connections), called rarely. */
  stats(): ConnectionStats {
    let idle = 0;
    for (const conn of this.waiting) if (conn.socket.bytesRead === conn.bytesAtWait) idle++;
    return { open: this.conns.size, idle, addresses: this.peers.size, ...this.counts };
  }

  private onConnection(socket: Socket): void {
    const address = socket.remoteAddress ?? '?';
    if (!this.makeRoom(address)) {
      this.count('refusedTotal');
      endAndDestroy(socket, this.refusedResponse);
      return;
    }
    const conn: Conn = {
      socket,
      address,
      phase: 'busy',
      phaseStartMs: 0,
      bytesAtWait: 0,
      pending: 0,
      req: undefined,
      res: undefined,
      timer: setTimeout(() => this.onTimer(conn), this.periodMs),
      later: undefined,
    };
    this.conns.set(socket, conn);
    const peer = this.peers.get(address) ?? { count: 0, waiting: new Set<Conn>() };
    peer.count++;
    this.peers.set(address, peer);
    this.wait(conn);
    socket.once('close', () => this.forget(conn));
  }

  /** At a bound, close the longest-idle connection (of this address, or of all); false if none. */
  private makeRoom(address: string): boolean {
    const peer = this.peers.get(address);
    if (
      peer !== undefined &&
      peer.count >= this.limits.connectionsPerAddressMax &&
      !this.closeLongestIdle(peer.waiting)
    )
      return false;
    return this.conns.size < this.limits.connectionsMax || this.closeLongestIdle(this.waiting);
  }

  private closeLongestIdle(candidates: Set<Conn>): boolean {
    for (const conn of candidates) {
      if (conn.socket.bytesRead !== conn.bytesAtWait) {
        this.stopWaitingList(conn); // a request has begun: it is no longer idle
        continue;
      }
      this.count('idleClosedTotal');
      this.forget(conn);
      conn.socket.destroy();
      return true;
    }
    return false;
  }

  /** The connection waits for its next request; the headers deadline starts now. */
  private wait(conn: Conn): void {
    this.enter(conn, 'waiting');
    conn.bytesAtWait = conn.socket.bytesRead;
    this.waiting.add(conn);
    this.peers.get(conn.address)?.waiting.add(conn);
  }

  private enter(conn: Conn, phase: 'waiting' | 'body'): void {
    conn.phase = phase;
    conn.phaseStartMs = Date.now();
    conn.timer.refresh();
    if (conn.later !== undefined) clearTimeout(conn.later);
    conn.later = undefined;
  }

  /** The periodic timer fired: act if the phase's deadline has passed, else look again then. */
  private onTimer(conn: Conn): void {
    if (conn.phase !== 'waiting' && conn.phase !== 'body') return;
    if (conn.phase === 'body' && conn.req?.complete === true) return; // the handler has it now
    const limitMs = conn.phase === 'waiting' ? this.limits.headersTimeoutMs : this.limits.bodyTimeoutMs;
    const leftMs = conn.phaseStartMs + limitMs - Date.now();
    if (leftMs > 0) {
      const phaseStartMs = conn.phaseStartMs;
      conn.later = setTimeout(() => {
        if (conn.phaseStartMs === phaseStartMs) this.onTimer(conn);
      }, leftMs);
      return;
    }
    if (conn.phase === 'waiting') this.onHeadersTimeout(conn);
    else this.onBodyTimeout(conn);
  }

  private onHeadersTimeout(conn: Conn): void {
    const begun = conn.socket.bytesRead !== conn.bytesAtWait;
    this.forget(conn);
    conn.phase = 'closing';
    if (!begun) {
      conn.socket.destroy(); // silent since it opened or since its last response: nothing to answer
      return;
    }
    this.count('headersTimeoutsTotal');
    endAndDestroy(conn.socket, this.headersTimeoutResponse);
  }

  /**
   * The first thing a server's 'request' handler calls (not a listener of our own: a second
   * 'request' listener makes node copy the listener array on every request). False: the
   * connection is being closed (refused, timed out or evicted while its headers completed), so
   * the request goes nowhere.
   */
  admit(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const conn = this.conns.get(req.socket);
    if (conn === undefined || conn.phase === 'closing') {
      req.socket.destroy();
      return false;
    }
    this.stopWaitingList(conn);
    this.enter(conn, 'body');
    conn.req = req;
    conn.res = res;
    conn.pending++;
    // 'close' comes after 'finish', or alone when the connection broke first.
    res.once('close', () => this.onResponseClosed(conn, req));
    return true;
  }

  private onResponseClosed(conn: Conn, req: http.IncomingMessage): void {
    conn.pending--;
    if (conn.req === req) {
      conn.req = undefined;
      conn.res = undefined;
      if (conn.phase === 'body') conn.phase = 'busy';
    }
    if (conn.pending === 0 && conn.phase === 'busy' && !conn.socket.destroyed && this.conns.has(conn.socket))
      this.wait(conn);
  }

  private onBodyTimeout(conn: Conn): void {
    const res = conn.res;
    if (res === undefined || res.writableEnded) return;
    this.count('bodyTimeoutsTotal');
    conn.phase = 'closing';
    if (!res.headersSent) {
      res.writeHead(408, {
        'content-type': SOAP_CONTENT_TYPE,
        'content-length': Buffer.byteLength(this.bodyTimeoutBody),
        connection: 'close',
      });
      res.end(this.bodyTimeoutBody);
    }
    res.once('finish', () => conn.socket.destroy());
    setTimeout(() => conn.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private stopWaitingList(conn: Conn): void {
    this.waiting.delete(conn);
    this.peers.get(conn.address)?.waiting.delete(conn);
  }

  /** Drops the connection from the books (idempotent); its socket is closed by the caller or already. */
  private forget(conn: Conn): void {
    if (!this.conns.delete(conn.socket)) return;
    clearTimeout(conn.timer);
    if (conn.later !== undefined) clearTimeout(conn.later);
    this.stopWaitingList(conn);
    const peer = this.peers.get(conn.address);
    if (peer !== undefined && --peer.count === 0) this.peers.delete(conn.address);
  }

  private count(counter: Counter): void {
    this.counts[counter]++;
    if (this.summaryTimer !== undefined) return;
    this.summaryTimer = setTimeout(() => this.logSummary(), SUMMARY_INTERVAL_MS);
    this.summaryTimer.unref();
  }

  /** One line per second at most while connections are being shed, with what happened since. */
  private logSummary(): void {
    this.summaryTimer = undefined;
    const since = (c: Counter): number => this.counts[c] - this.logged[c];
    this.logger.warn('connections shed', {
      headers_timeouts: since('headersTimeoutsTotal'),
      body_timeouts: since('bodyTimeoutsTotal'),
      idle_closed: since('idleClosedTotal'),
      refused: since('refusedTotal'),
      open: this.conns.size,
      addresses: this.peers.size,
    });
    this.logged = { ...this.counts };
  }
}

function rawResponse(status: number, reason: string, body: string): Buffer {
  return Buffer.from(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: ${SOAP_CONTENT_TYPE}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    'utf8',
  );
}

/** Answer on a connection no request object owns, then close it even if the peer never reads. */
function endAndDestroy(socket: Socket, response: Buffer): void {
  socket.once('finish', () => socket.destroy());
  socket.end(response);
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}
