import net from 'node:net';

/**
 * A small HTTP/1.1 client for ONE origin (a business server's data tier, a balancer's business
 * server): a bounded pool of keep-alive sockets, one request at a time per socket, each request
 * written as one buffer, a strict incremental response reader (Content-Length, chunked, or
 * read-to-close) that buffers the whole answer, bounded by responseBytesMax. It exists because
 * node's http client costs ~70–90 µs of CPU per call here against ~35–40 µs for this (measured
 * with the same envelopes and reader, business/README.md; the balancer's numbers are in
 * balancer/README.md). Anything unexpected on the wire destroys the socket and fails the call.
 *
 * Failures reject with HttpLiteError: `stale` when a reused keep-alive socket died before any
 * byte of the answer came back (most likely the server had closed it while idle and never saw
 * the request; the caller may send an idempotent request once more), `too-large` when the
 * answer is over responseBytesMax, `failed` otherwise. `status` is set when the answer's head
 * had come (the server did answer): a proxy must not send such a request elsewhere.
 */
export interface HttpLiteOptions {
  readonly host: string;
  readonly port: number;
  readonly socketsMax: number;
  /** Idle sockets are closed after this, before the server's keep-alive timeout can race us. */
  readonly idleSocketMs: number;
  readonly responseBytesMax: number;
}

export interface HttpLiteResponse {
  readonly status: number;
  /** The header fields as received: name, value, name, value, … (names as sent, values trimmed). */
  readonly headers: readonly string[];
  readonly body: Buffer;
}

export class HttpLiteError extends Error {
  constructor(
    readonly kind: 'stale' | 'failed' | 'too-large',
    message: string,
    /** The answer's status when its head had come before the failure; else undefined. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HttpLiteError';
  }
}

class TooLargeError extends Error {}

const HEADER_BYTES_MAX = 16 * 1024;
/** RFC 9110 token: what a field name is made of. */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Control characters other than HTAB (a bare CR or LF included) have no place in a field value. */
const FIELD_VALUE_BAD = /[\x00-\x08\x0a-\x1f\x7f]/;
/** `Keep-Alive: timeout=N`: the server closes an idle connection after N seconds. */
const KEEP_ALIVE_TIMEOUT = /(?:^|[\s,])timeout=([0-9]{1,6})(?:$|[\s,])/i;
/** An idle socket is closed this long before the server's hint says the server would close it. */
const KEEP_ALIVE_MARGIN_MS = 1000;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

interface Call {
  readonly payload: Buffer;
  readonly resolve: (response: HttpLiteResponse) => void;
  readonly reject: (error: Error) => void;
  settled: boolean;
}

interface Waiter {
  readonly start: (socket: PooledSocket) => void;
  readonly fail: (error: Error) => void;
}

/**
 * Incremental reader of one HTTP/1.1 response. `push` returns the response once complete, or
 * undefined when more bytes are needed; it throws on anything malformed or too large.
 */
export class ResponseReader {
  private buffered: Buffer = Buffer.alloc(0);
  private status = 0;
  private headerDone = false;
  private contentLength: number | undefined;
  private chunked = false;
  /** The server will close the connection after this response. */
  closeAfter = false;
  /** The server's `Keep-Alive: timeout=` hint, in ms; undefined when it gave none. */
  keepAliveMs: number | undefined;
  private readonly headers: string[] = [];
  private readonly chunks: Buffer[] = [];
  private bodyBytes = 0;
  /** Where the next chunk-size line starts in `buffered` (chunked mode). */
  private chunkDone = false;

  constructor(private readonly responseBytesMax: number) {}

  push(data: Buffer): HttpLiteResponse | undefined {
    this.buffered = this.buffered.length === 0 ? data : Buffer.concat([this.buffered, data]);
    if (!this.headerDone && !this.readHead()) return undefined;
    if (this.chunked) return this.readChunks();
    if (this.contentLength !== undefined) {
      if (this.buffered.length > this.contentLength) throw new Error('bytes after the response body');
      if (this.buffered.length < this.contentLength) return undefined;
      return { status: this.status, headers: this.headers, body: this.buffered };
    }
    // Neither length nor chunked: the body runs to the end of the connection (see end()).
    this.ensureSize(this.buffered.length);
    return undefined;
  }

  /** The connection ended: completes a read-to-close body, or fails. */
  end(): HttpLiteResponse {
    if (this.headerDone && !this.chunked && this.contentLength === undefined) {
      return { status: this.status, headers: this.headers, body: this.buffered };
    }
    throw new Error('connection closed before the response was complete');
  }

  /** True once any byte of the answer has arrived. */
  get started(): boolean {
    return this.headerDone || this.buffered.length > 0;
  }

  /** The status once the whole head has been read (the server has answered); else undefined. */
  get answeredStatus(): number | undefined {
    return this.headerDone ? this.status : undefined;
  }

  private ensureSize(bytes: number): void {
    if (bytes > this.responseBytesMax) throw new TooLargeError(`response larger than ${this.responseBytesMax} bytes`);
  }

  private readHead(): boolean {
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0) {
      if (this.buffered.length > HEADER_BYTES_MAX) throw new Error('response head too large');
      return false;
    }
    if (end > HEADER_BYTES_MAX) throw new Error('response head too large');
    const lines = this.buffered.toString('latin1', 0, end).split('\r\n');
    const statusLine = /^HTTP\/1\.([01]) ([1-5][0-9][0-9])(?: .*)?$/.exec(lines[0] ?? '');
    if (statusLine === null)
      throw new Error(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
    this.status = Number(statusLine[2]);
    if (this.status < 200) throw new Error(`unexpected interim response ${this.status}`);
    this.closeAfter = statusLine[1] === '0';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] ?? '';
      const colon = line.indexOf(':');
      const rawName = line.slice(0, colon);
      if (colon <= 0 || !FIELD_NAME.test(rawName)) throw new Error('malformed header line');
      const value = line.slice(colon + 1).trim();
      if (FIELD_VALUE_BAD.test(value)) throw new Error('control character in a header value');
      this.headers.push(rawName, value);
      const name = rawName.toLowerCase();
      if (name === 'content-length') {
        if (!/^[0-9]{1,15}$/.test(value) || this.contentLength !== undefined) throw new Error('bad content-length');
        this.contentLength = Number(value);
      } else if (name === 'keep-alive') {
        const seconds = KEEP_ALIVE_TIMEOUT.exec(value)?.[1];
        if (seconds !== undefined) this.keepAliveMs = Number(seconds) * 1000;
      } else if (name === 'transfer-encoding') {
        if (value.toLowerCase() !== 'chunked') throw new Error(`transfer-encoding not supported: ${value}`);
        this.chunked = true;
      } else if (name === 'connection') {
        const tokens = value
          .toLowerCase()
          .split(',')
          .map((t) => t.trim());
        if (tokens.includes('close')) this.closeAfter = true;
        else if (tokens.includes('keep-alive')) this.closeAfter = false;
      }
    }
    if (this.chunked && this.contentLength !== undefined) throw new Error('both content-length and chunked');
    if (this.status === 204 || this.status === 304) this.contentLength = 0;
    this.headerDone = true;
    this.buffered = this.buffered.subarray(end + HEADER_END.length);
    // After headerDone: an answer too large to take is still an answer (not to be sent elsewhere).
    if (this.contentLength !== undefined) this.ensureSize(this.contentLength);
    return true;
  }

  private readChunks(): HttpLiteResponse | undefined {
    for (;;) {
      if (this.chunkDone) {
        // Trailers: header lines until an empty line.
        const lineEnd = this.buffered.indexOf(CRLF);
        if (lineEnd < 0) return undefined;
        const isEmpty = lineEnd === 0;
        this.buffered = this.buffered.subarray(lineEnd + 2);
        if (!isEmpty) continue;
        if (this.buffered.length > 0) throw new Error('bytes after the response body');
        return { status: this.status, headers: this.headers, body: Buffer.concat(this.chunks, this.bodyBytes) };
      }
      const lineEnd = this.buffered.indexOf(CRLF);
      if (lineEnd < 0) {
        if (this.buffered.length > 1024) throw new Error('chunk size line too long');
        return undefined;
      }
      const [sizeField = ''] = this.buffered.toString('latin1', 0, lineEnd).split(';');
      const sizeText = sizeField.trim();
      if (!/^[0-9A-Fa-f]{1,8}$/.test(sizeText)) throw new Error('bad chunk size');
      const size = parseInt(sizeText, 16);
      if (size === 0) {
        this.chunkDone = true;
        this.buffered = this.buffered.subarray(lineEnd + 2);
        continue;
      }
      const dataStart = lineEnd + 2;
      if (this.buffered.length < dataStart + size + 2) {
        this.ensureSize(this.bodyBytes + size);
        return undefined;
      }
      if (this.buffered[dataStart + size] !== 0x0d || this.buffered[dataStart + size + 1] !== 0x0a) {
        throw new Error('chunk not followed by CRLF');
      }
      this.bodyBytes += size;
      this.ensureSize(this.bodyBytes);
      this.chunks.push(this.buffered.subarray(dataStart, dataStart + size));
      this.buffered = this.buffered.subarray(dataStart + size + 2);
    }
  }
}

/** One socket of the pool and the call it serves, if any. */
class PooledSocket {
  call: Call | undefined;
  reader: ResponseReader | undefined;
  /** True once the socket has completed a response (a later failure may be a stale socket). */
  reused = false;
  idleTimer: NodeJS.Timeout | undefined;

  constructor(readonly socket: net.Socket) {}
}

export class HttpLiteClient {
  private readonly idle: PooledSocket[] = [];
  private readonly waiting: Waiter[] = [];
  private sockets = 0;
  private closed = false;
  private readonly requestHead: string;

  constructor(
    private readonly options: HttpLiteOptions,
    path: string,
    fixedHeaders: string,
  ) {
    const hostHeader = options.host.includes(':')
      ? `[${options.host}]:${options.port}`
      : `${options.host}:${options.port}`;
    this.requestHead = `POST ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\n${fixedHeaders}`;
  }

  /**
   * POSTs `body` (text, sent as UTF-8, or bytes) with the given extra header lines (latin1, each
   * ending in CRLF). The answer's head must come within timeoutMs of the call, the whole answer
   * within answerTimeoutMs (at least timeoutMs). Head and body go out as one buffer, one write.
   */
  post(
    extraHeaders: string,
    body: string | Buffer,
    timeoutMs: number,
    answerTimeoutMs = timeoutMs,
  ): Promise<HttpLiteResponse> {
    const payload = requestBytes(`${this.requestHead}${extraHeaders}Content-Length: ${bodyBytes(body)}\r\n\r\n`, body);
    return new Promise<HttpLiteResponse>((resolve, reject) => {
      let pooled: PooledSocket | undefined;
      let waiter: Waiter | undefined;
      const call: Call = {
        payload,
        settled: false,
        resolve: (response) => {
          if (call.settled) return;
          call.settled = true;
          clearTimeout(timer);
          resolve(response);
        },
        reject: (error) => {
          if (call.settled) return;
          call.settled = true;
          clearTimeout(timer);
          reject(error);
        },
      };
      const expire = (): void => {
        if (waiter !== undefined) {
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) this.waiting.splice(index, 1);
        }
        const status = pooled?.call === call ? pooled.reader?.answeredStatus : undefined;
        const within = status === undefined ? timeoutMs : answerTimeoutMs;
        call.reject(new HttpLiteError('failed', `no complete answer within ${within} ms`, status));
        if (pooled !== undefined && pooled.call === call) pooled.socket.destroy();
      };
      let timer = setTimeout(() => {
        // The head came in time: the rest of the answer gets what is left of answerTimeoutMs.
        if (answerTimeoutMs > timeoutMs && pooled?.call === call && pooled.reader?.answeredStatus !== undefined)
          timer = setTimeout(expire, answerTimeoutMs - timeoutMs);
        else expire();
      }, timeoutMs);
      if (this.closed) {
        call.reject(new HttpLiteError('failed', 'client closed'));
        return;
      }
      const start = (socket: PooledSocket): void => {
        pooled = socket;
        this.start(socket, call);
      };
      const ready = this.takeIdle();
      if (ready !== undefined) {
        start(ready);
      } else if (this.sockets < this.options.socketsMax) {
        start(this.open());
      } else {
        waiter = { start, fail: (error) => call.reject(error) };
        this.waiting.push(waiter);
      }
    });
  }

  close(): void {
    this.closed = true;
    for (const pooled of this.idle.splice(0)) pooled.socket.destroy();
    for (const waiter of this.waiting.splice(0)) waiter.fail(new HttpLiteError('failed', 'client closed'));
  }

  /** Sockets open now (for /health and tests). */
  get openSockets(): number {
    return this.sockets;
  }

  private open(): PooledSocket {
    const socket = net.connect({ host: this.options.host, port: this.options.port, noDelay: true });
    const pooled = new PooledSocket(socket);
    this.sockets++;
    socket.on('data', (data: Buffer) => this.onData(pooled, data));
    socket.on('end', () => this.onGone(pooled, undefined));
    socket.on('error', (error) => this.onGone(pooled, error));
    socket.on('close', () => {
      this.onGone(pooled, undefined);
      this.sockets--;
      this.removeIdle(pooled);
      this.serveWaiter();
    });
    return pooled;
  }

  private start(pooled: PooledSocket, call: Call): void {
    if (pooled.idleTimer !== undefined) clearTimeout(pooled.idleTimer);
    pooled.idleTimer = undefined;
    if (call.settled) {
      this.release(pooled);
      return;
    }
    if (this.closed) {
      call.reject(new HttpLiteError('failed', 'client closed'));
      pooled.socket.destroy();
      return;
    }
    pooled.call = call;
    pooled.reader = new ResponseReader(this.options.responseBytesMax);
    pooled.socket.write(call.payload);
  }

  private onData(pooled: PooledSocket, data: Buffer): void {
    const { call, reader } = pooled;
    if (call === undefined || reader === undefined) {
      pooled.socket.destroy(); // bytes nobody asked for
      return;
    }
    let response: HttpLiteResponse | undefined;
    try {
      response = reader.push(data);
    } catch (error) {
      const kind = error instanceof TooLargeError ? 'too-large' : 'failed';
      call.reject(
        new HttpLiteError(kind, error instanceof Error ? error.message : String(error), reader.answeredStatus),
      );
      pooled.call = undefined;
      pooled.socket.destroy();
      return;
    }
    if (response === undefined) return;
    pooled.call = undefined;
    pooled.reader = undefined;
    pooled.reused = true;
    call.resolve(response);
    if (reader.closeAfter) pooled.socket.destroy();
    else this.release(pooled, reader.keepAliveMs);
  }

  private onGone(pooled: PooledSocket, error: Error | undefined): void {
    const { call, reader } = pooled;
    pooled.call = undefined;
    if (call !== undefined && reader !== undefined) {
      let response: HttpLiteResponse | undefined;
      try {
        if (error === undefined) response = reader.end();
      } catch {
        response = undefined;
      }
      if (response !== undefined) {
        call.resolve(response);
      } else {
        const stale = pooled.reused && !reader.started;
        const reason = error?.message ?? 'connection closed';
        call.reject(
          new HttpLiteError(
            stale ? 'stale' : 'failed',
            stale ? `kept-alive connection was closed: ${reason}` : reason,
            reader.answeredStatus,
          ),
        );
      }
    }
    if (!pooled.socket.destroyed) pooled.socket.destroy();
  }

  /**
   * A socket free again: to the next waiter, or idle, closed after idleSocketMs or before the
   * server's keep-alive hint runs out (as node's own agent does), whichever comes first.
   */
  private release(pooled: PooledSocket, serverKeepAliveMs?: number): void {
    const idleMs = Math.min(this.options.idleSocketMs, (serverKeepAliveMs ?? Infinity) - KEEP_ALIVE_MARGIN_MS);
    if (this.closed || idleMs <= 0) {
      pooled.socket.destroy();
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter !== undefined) {
      waiter.start(pooled);
      return;
    }
    pooled.idleTimer = setTimeout(() => {
      this.removeIdle(pooled);
      pooled.socket.destroy();
    }, idleMs);
    pooled.idleTimer.unref();
    this.idle.push(pooled);
  }

  /** The most recently used idle socket that is still usable. */
  private takeIdle(): PooledSocket | undefined {
    for (let pooled = this.idle.pop(); pooled !== undefined; pooled = this.idle.pop()) {
      if (!pooled.socket.destroyed && pooled.socket.writable) return pooled;
      pooled.socket.destroy();
    }
    return undefined;
  }

  private removeIdle(pooled: PooledSocket): void {
    if (pooled.idleTimer !== undefined) clearTimeout(pooled.idleTimer);
    const index = this.idle.indexOf(pooled);
    if (index >= 0) this.idle.splice(index, 1);
  }

  /** A socket closed: if calls wait and there is room, open a new socket for the next one. */
  private serveWaiter(): void {
    if (this.closed || this.waiting.length === 0 || this.sockets >= this.options.socketsMax) return;
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter.start(this.open());
  }
}

function bodyBytes(body: string | Buffer): number {
  return typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
}

/** The request head (latin1: one byte per character) and its body in one buffer, one write. */
function requestBytes(head: string, body: string | Buffer): Buffer {
  const payload = Buffer.allocUnsafe(head.length + bodyBytes(body));
  const headBytes = payload.write(head, 0, 'latin1');
  if (typeof body === 'string') payload.write(body, headBytes, 'utf8');
  else body.copy(payload, headBytes);
  return payload;
}
