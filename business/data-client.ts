import http from 'node:http';
import { Logger } from '../common/logger';
import { Cents } from '../common/money';
import { DataEnvelopes, DataOperation, Posting, soapActionOf } from './data-envelope';
import {
  AccountState, BadDataResponse, CreatedAccount, DataFaultDetail, Journal, LockGrant, parseEnvelope,
  readCreateAccountResponse, readGetJournalResponse, readLockResponse, readReadResponse, readUnlockResponse,
  readUpdateResponse, UpdateOutcome,
} from './data-response';
import { XmlElement, XmlSyntaxError } from './xml-lite';

/**
 * The one client of the data tier in a business server: envelopes from templates, a keep-alive
 * agent with a bounded number of sockets, a deadline on every call, a bounded response size,
 * and a small strict parser for the answers. Failures come out as DataCallError:
 *   - 'fault': the data tier answered with a DataFault (code from the registry);
 *   - 'unavailable': refused, reset, timed out, 5xx without a DataFault — the caller maps it
 *     to SERVICE_UNAVAILABLE at once, never a hang;
 *   - 'bad-response': an answer that is not what data.wsdl says (a bug somewhere).
 */
export interface DataClientOptions {
  readonly url: string;
  readonly businessId: string;
  readonly businessToken: string;
  readonly callTimeoutMs: number;
  readonly socketsMax: number;
  readonly responseBytesMax: number;
  /** Calls waiting for or holding a socket, at most; beyond it a call fails at once. */
  readonly callsInFlightMax: number;
  readonly logger: Logger;
}

/**
 * Who a call is for and until when: the client's request id (carried to the data tier for the
 * logs) and the absolute time by which the whole client request must be answered. Each call's
 * deadline is the nearer of that and the per-call timeout.
 */
export interface CallScope {
  readonly requestId: string;
  readonly deadlineAtMs: number;
}

export type DataCallErrorKind = 'fault' | 'unavailable' | 'bad-response';

export class DataCallError extends Error {
  constructor(
    readonly kind: DataCallErrorKind,
    readonly operation: DataOperation,
    message: string,
    readonly fault?: DataFaultDetail,
  ) {
    super(message);
    this.name = 'DataCallError';
  }
}

/** Operations safe to send again when a reused keep-alive socket turned out to be closed. */
const RESEND_ON_STALE_SOCKET: ReadonlySet<DataOperation> = new Set(['Read', 'Update', 'Unlock', 'CreateAccount', 'GetJournal']);

export class DataClient {
  private readonly agent: http.Agent;
  private readonly envelopes: DataEnvelopes;
  private readonly target: URL;
  private callsInFlight = 0;

  constructor(private readonly options: DataClientOptions) {
    this.target = new URL(options.url);
    this.envelopes = new DataEnvelopes(options.businessId, options.businessToken);
    this.agent = new http.Agent({
      keepAlive: true,
      keepAliveMsecs: 1000,
      maxSockets: options.socketsMax,
      maxFreeSockets: options.socketsMax,
      scheduling: 'lifo',
    });
  }

  async lock(scope: CallScope, accountIds: readonly string[], waitMs: number, leaseMs: number | undefined): Promise<LockGrant> {
    return this.call(scope, 'Lock', this.envelopes.lock(scope.requestId, accountIds, waitMs, leaseMs), readLockResponse);
  }

  async read(scope: CallScope, accountIds: readonly string[]): Promise<AccountState[]> {
    return this.call(scope, 'Read', this.envelopes.read(scope.requestId, accountIds), readReadResponse);
  }

  async update(
    scope: CallScope, lockId: string, fencingToken: string, transactionId: string,
    postings: readonly Posting[], release: boolean,
  ): Promise<UpdateOutcome> {
    const xml = this.envelopes.update(scope.requestId, lockId, fencingToken, transactionId, postings, release);
    return this.call(scope, 'Update', xml, readUpdateResponse);
  }

  async unlock(scope: CallScope, lockId: string): Promise<boolean> {
    return this.call(scope, 'Unlock', this.envelopes.unlock(scope.requestId, lockId), readUnlockResponse);
  }

  async createAccount(scope: CallScope, ownerId: string, transactionId: string, initialBalanceCents: Cents | undefined): Promise<CreatedAccount> {
    const xml = this.envelopes.createAccount(scope.requestId, ownerId, transactionId, initialBalanceCents);
    return this.call(scope, 'CreateAccount', xml, readCreateAccountResponse);
  }

  async getJournal(scope: CallScope, accountId: string, limit: number): Promise<Journal> {
    return this.call(scope, 'GetJournal', this.envelopes.getJournal(scope.requestId, accountId, limit), readGetJournalResponse);
  }

  close(): void {
    this.agent.destroy();
  }

  /** Sends one envelope; resolves with the response read by `read`, or throws DataCallError. */
  /** A scope for work not tied to a client's request (background Unlock): one call timeout. */
  freshScope(requestId: string): CallScope {
    return { requestId, deadlineAtMs: Date.now() + this.options.callTimeoutMs };
  }

  private async call<T>(scope: CallScope, operation: DataOperation, xml: string, read: (element: XmlElement) => T): Promise<T> {
    // The agent's own queue of requests waiting for a socket has no bound: this is it.
    if (this.callsInFlight >= this.options.callsInFlightMax) {
      throw new DataCallError('unavailable', operation, `data tier ${operation}: ${this.callsInFlight} calls already in flight`);
    }
    this.callsInFlight++;
    try {
      return await this.callNow(scope, operation, xml, read);
    } finally {
      this.callsInFlight--;
    }
  }

  /** Calls in flight now (for /health). */
  get inFlight(): number {
    return this.callsInFlight;
  }

  private async callNow<T>(scope: CallScope, operation: DataOperation, xml: string, read: (element: XmlElement) => T): Promise<T> {
    const payload = Buffer.from(xml, 'utf8');
    const timeoutMs = (): number => Math.min(this.options.callTimeoutMs, scope.deadlineAtMs - Date.now());
    if (timeoutMs() <= 0) throw new DataCallError('unavailable', operation, `data tier ${operation}: the request's deadline has passed`);
    let response: { status: number; text: string };
    try {
      response = await this.post(operation, payload, timeoutMs());
    } catch (error) {
      if (error instanceof StaleSocketError && RESEND_ON_STALE_SOCKET.has(operation) && timeoutMs() > 0) {
        response = await this.post(operation, payload, timeoutMs()).catch((again: unknown) => {
          throw this.unavailable(operation, again);
        });
      } else {
        throw this.unavailable(operation, error);
      }
    }
    const element = this.interpret(operation, response.status, response.text);
    try {
      return read(element);
    } catch (error) {
      throw new DataCallError('bad-response', operation, `data tier ${operation}: ${describe(error)}`);
    }
  }

  private unavailable(operation: DataOperation, error: unknown): DataCallError {
    const message = error instanceof Error ? error.message : String(error);
    return new DataCallError('unavailable', operation, `data tier ${operation}: ${message}`);
  }

  private interpret(operation: DataOperation, status: number, text: string): XmlElement {
    let parsed;
    try {
      parsed = parseEnvelope(text, operation);
    } catch (error) {
      const kind: DataCallErrorKind = status >= 500 ? 'unavailable' : 'bad-response';
      throw new DataCallError(kind, operation, `data tier ${operation}: HTTP ${status}, ${describe(error)}`);
    }
    switch (parsed.kind) {
      case 'fault':
        throw new DataCallError('fault', operation, `data tier ${operation}: ${parsed.fault.code}: ${parsed.fault.message}`, parsed.fault);
      case 'soap-fault-without-detail':
        throw new DataCallError('unavailable', operation, `data tier ${operation}: HTTP ${status}, fault without DataFault: ${parsed.faultstring}`);
      case 'body':
        if (status !== 200) throw new DataCallError('bad-response', operation, `data tier ${operation}: HTTP ${status} with a normal body`);
        return parsed.element;
    }
  }

  private post(operation: DataOperation, payload: Buffer, timeoutMs: number): Promise<{ status: number; text: string }> {
    const { responseBytesMax } = this.options;
    return new Promise((resolve, reject) => {
      const req = http.request({
        agent: this.agent,
        host: this.target.hostname,
        port: this.target.port,
        path: this.target.pathname + this.target.search,
        method: 'POST',
        headers: {
          'content-type': 'text/xml; charset=utf-8',
          'content-length': payload.length,
          soapaction: soapActionOf(operation),
        },
      });
      let settled = false;
      const finish = (error: Error | undefined, value?: { status: number; text: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error !== undefined) reject(error);
        else resolve(value!);
      };
      const timer = setTimeout(() => {
        req.destroy();
        finish(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > responseBytesMax) {
            req.destroy();
            finish(new Error(`response larger than ${responseBytesMax} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (error) => finish(error));
        res.on('aborted', () => finish(new Error('response aborted')));
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A keep-alive socket the server closed while idle: the request never reached it.
        if (req.reusedSocket && error.code === 'ECONNRESET') finish(new StaleSocketError(error.message));
        else finish(error);
      });
      req.end(payload);
    });
  }
}

class StaleSocketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaleSocketError';
  }
}

function describe(error: unknown): string {
  if (error instanceof BadDataResponse || error instanceof XmlSyntaxError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
