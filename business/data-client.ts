import { SOAP_CONTENT_TYPE } from '../common/contract';
import { Logger } from '../common/logger';
import { Cents } from '../common/money';
import {
  BATCH_ELEMENTS,
  BatchableOperation,
  DataEnvelopes,
  DataOperation,
  JournalFilter,
  DataPosting,
  lockFields,
  soapActionOf,
  updateFields,
  unlockFields,
} from './data-envelope';
import { BatchedReply, DataBatcher } from './data-batcher';
import {
  DataAccountState,
  BadDataResponse,
  CreatedAccount,
  DataFaultDetail,
  Journal,
  LockGrant,
  parseEnvelope,
  readCreateAccountResponse,
  readGetJournalResponse,
  readLockResponse,
  readReadResponse,
  readUnlockResponse,
  readUpdateResponse,
  UpdateOutcome,
} from './data-response';
import { DataEndpoint, DataEndpoints } from './data-endpoints';
import { HttpLiteClient, HttpLiteError } from '../common/http-lite';
import { XmlElement, XmlSyntaxError } from '../common/xml-reader';
import type { TraceContext } from '../common/trace-ring';
import { CallFacts, DataCallObserver } from './data-call-observer';
import { defined } from '../common/defined';

/**
 * The one client of the data tier in a business server: envelopes from templates, a small
 * keep-alive HTTP/1.1 client with a bounded number of sockets (http-lite.ts), a deadline on
 * every call, a bounded response size, and a small strict parser for the answers. Failures come
 * out as DataCallError:
 *   - 'fault': the data tier answered with a DataFault (code from the registry);
 *   - 'unavailable': refused, reset, timed out, 5xx without a DataFault — the caller maps it
 *     to SERVICE_UNAVAILABLE at once, never a hang;
 *   - 'bad-response': an answer that is not what data.wsdl says (a bug somewhere).
 *
 * Several data servers (over one PostgreSQL) share the calls (data-endpoints.ts). A call that
 * fails 'unavailable' or with the data tier's SERVICE_UNAVAILABLE is sent once to each other
 * data server, within the request's deadline, the same envelope — the same transaction id,
 * lock id and fencing token, since locks and idempotency live in the shared database. Why
 * every operation may be re-sent elsewhere:
 *   - Read, GetJournal: read nothing but committed state;
 *   - Update, CreateAccount: keyed by the transaction id: if the first one committed, the
 *     repeat returns its recorded outcome (replayed) and moves nothing; a repeat after the
 *     lease ended is refused (LOCK_EXPIRED / LOCK_NOT_HELD / STALE_FENCING_TOKEN) and
 *     money-flow.ts locks again with the same transaction id;
 *   - Unlock: idempotent (released=false the second time);
 *   - Lock: if the lost answer was a grant, that lock is orphaned, holds nothing of value and
 *     ends with its lease (1 s by default); the repeat queues behind it at worst. Money never
 *     moves without an Update, so an orphaned lock costs latency, not money.
 */
export interface DataClientOptions {
  /** One or more data servers' /data URLs (BANK_DATA_URLS). */
  readonly urls: readonly string[];
  /** How often each data server's /health is checked (with several), and its timeout. */
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly businessId: string;
  readonly businessToken: string;
  readonly callTimeoutMs: number;
  readonly socketsMax: number;
  readonly responseBytesMax: number;
  /** Calls waiting for or holding a socket, at most; beyond it a call fails at once. */
  readonly callsInFlightMax: number;
  /** Lock / Update / Unlock calls of one moment sent as one Batch, at most this many (1: never batch). */
  readonly batchCallsMax: number;
  /** Batches out to one data server at once; calls that come meanwhile wait and ride in the next. */
  readonly batchesInFlightMax: number;
  readonly logger: Logger;
  /** Told of every AUTHENTICATION_FAILED: this server's credentials are wrong (data-tier-check.ts). */
  readonly onCredentialsRefused?: () => void;
  /** Latency metric + trace ring entry of every call (business/data-call-observer.ts). */
  readonly observer?: DataCallObserver;
}

/**
 * Who a call is for and until when: the client's request id (carried to the data tier for the
 * logs) and the absolute time by which the whole client request must be answered. Each call's
 * deadline is the nearer of that and the per-call timeout.
 */
export interface CallScope {
  readonly requestId: string;
  readonly deadlineAtMs: number;
  /** The client request's trace context: each call is a child span (traceparent on the wire). */
  readonly trace?: TraceContext;
}

export type DataCallErrorKind = 'fault' | 'unavailable' | 'bad-response';

export class DataCallError extends Error {
  constructor(
    readonly kind: DataCallErrorKind,
    readonly operation: DataOperation,
    message: string,
    readonly fault?: DataFaultDetail,
    /** The call went in a Batch (where a Lock does not wait). */
    readonly inBatch = false,
  ) {
    super(message);
    this.name = 'DataCallError';
  }
}

/** A call as its own envelope, and its fields for a Batch when it may go in one. */
interface DataRequest {
  readonly operation: DataOperation;
  readonly xml: string;
  readonly batchFields?: string;
}

/**
 * Idle sockets to the data tier are closed after this: below node's default keep-alive timeout
 * (5 s) so that, whatever server is behind the URL, it is us who close an idle socket, not a
 * server racing our next request on it.
 */
const IDLE_SOCKET_MS = 4000;

/**
 * Operations sent once more when a reused keep-alive socket died before any byte of the answer.
 * Usually the server had closed the idle socket and never saw the request; but it may also have
 * crashed while handling it, so only requests that are safe to repeat qualify: reads, Unlock
 * (idempotent) and the writes keyed by a transaction id (Update, CreateAccount: a repeat
 * returns the first outcome). Lock is not: a second Lock would queue behind the first.
 */
const RESEND_ON_STALE_SOCKET: ReadonlySet<DataOperation> = new Set([
  'Read',
  'Update',
  'Unlock',
  'CreateAccount',
  'GetJournal',
]);

export class DataClient {
  private readonly endpoints: DataEndpoints;
  private readonly envelopes: DataEnvelopes;
  private readonly batchers = new Map<DataEndpoint, DataBatcher>();
  private callsInFlight = 0;

  constructor(private readonly options: DataClientOptions) {
    this.envelopes = new DataEnvelopes(options.businessId, options.businessToken);
    this.endpoints = new DataEndpoints({
      urls: options.urls,
      healthIntervalMs: options.healthIntervalMs,
      healthTimeoutMs: options.healthTimeoutMs,
      logger: options.logger,
      pool: (target) =>
        new HttpLiteClient(
          {
            host: target.hostname.replace(/^\[|\]$/g, ''),
            port: target.port === '' ? 80 : Number(target.port),
            socketsMax: options.socketsMax,
            idleSocketMs: IDLE_SOCKET_MS,
            responseBytesMax: options.responseBytesMax,
          },
          target.pathname + target.search,
          `Content-Type: ${SOAP_CONTENT_TYPE}\r\n`,
        ),
    });
  }

  /**
   * A Lock that may wait waitMs for its accounts. In a Batch a Lock does not wait; when it
   * found an account taken there, it goes again alone, now queueing for up to waitMs.
   */
  async lock(
    scope: CallScope,
    accountIds: readonly string[],
    waitMs: number,
    leaseMs: number | undefined,
  ): Promise<LockGrant> {
    const xml = this.envelopes.lock(scope.requestId, accountIds, waitMs, leaseMs);
    const facts = { accounts: accountIds };
    const batchFields = lockFields(accountIds, undefined, leaseMs);
    try {
      return await this.call(scope, { operation: 'Lock', xml, batchFields }, readLockResponse, facts);
    } catch (error) {
      const lockedInBatch = error instanceof DataCallError && error.inBatch && error.fault?.code === 'ACCOUNT_LOCKED';
      if (!lockedInBatch || waitMs === 0) throw error;
      return this.call(scope, { operation: 'Lock', xml }, readLockResponse, facts);
    }
  }

  async read(scope: CallScope, accountIds: readonly string[]): Promise<DataAccountState[]> {
    return this.call(
      scope,
      { operation: 'Read', xml: this.envelopes.read(scope.requestId, accountIds) },
      readReadResponse,
    );
  }

  async update(
    scope: CallScope,
    lockId: string,
    fencingToken: string,
    transactionId: string,
    postings: readonly DataPosting[],
    release: boolean,
  ): Promise<UpdateOutcome> {
    const batchFields = updateFields({ lockId, fencingToken, transactionId, postings, release });
    const request = {
      operation: 'Update' as const,
      xml: this.envelopes.wrap('Update', scope.requestId, batchFields),
      batchFields,
    };
    return this.call(scope, request, readUpdateResponse, {
      fencingToken,
      transactionId,
      accounts: postings.map((p) => p.accountId),
    });
  }

  async unlock(scope: CallScope, lockId: string): Promise<boolean> {
    const batchFields = unlockFields(lockId);
    const xml = this.envelopes.wrap('Unlock', scope.requestId, batchFields);
    return this.call(scope, { operation: 'Unlock', xml, batchFields }, readUnlockResponse);
  }

  async createAccount(
    scope: CallScope,
    ownerId: string,
    transactionId: string,
    initialBalanceCents: Cents | undefined,
    accountsMax: number,
  ): Promise<CreatedAccount> {
    const xml = this.envelopes.createAccount(scope.requestId, ownerId, transactionId, initialBalanceCents, accountsMax);
    return this.call(scope, { operation: 'CreateAccount', xml }, readCreateAccountResponse);
  }

  async getJournal(scope: CallScope, accountId: string, filter: JournalFilter): Promise<Journal> {
    return this.call(
      scope,
      { operation: 'GetJournal', xml: this.envelopes.getJournal(scope.requestId, accountId, filter) },
      readGetJournalResponse,
    );
  }

  close(): void {
    this.endpoints.close();
  }

  /** The data servers and whether each is in rotation (for /health). */
  endpointStates(): { url: string; up: boolean }[] {
    return this.endpoints.states();
  }

  /** A scope for work not tied to a client's request (background Unlock): one call timeout. */
  freshScope(requestId: string): CallScope {
    return { requestId, deadlineAtMs: Date.now() + this.options.callTimeoutMs };
  }

  private async call<T>(
    scope: CallScope,
    request: DataRequest,
    read: (element: XmlElement) => T,
    facts: CallFacts = {},
  ): Promise<T> {
    const { operation } = request;
    const observer = this.options.observer;
    const span = observer?.span(scope.trace);
    const startedAtMs = Date.now();
    let outcome = 'ok';
    let token = facts.fencingToken;
    try {
      // Calls waiting for a socket are bounded here (and each by its deadline).
      if (this.callsInFlight >= this.options.callsInFlightMax) {
        throw new DataCallError(
          'unavailable',
          operation,
          `data tier ${operation}: ${this.callsInFlight} calls already in flight`,
        );
      }
      this.callsInFlight++;
      try {
        const result = await this.callNow(scope, request, read, span?.traceparent);
        token ??= (result as { fencingToken?: unknown }).fencingToken as string | undefined;
        return result;
      } finally {
        this.callsInFlight--;
      }
    } catch (error) {
      outcome = error instanceof DataCallError ? (error.fault?.code ?? error.kind) : 'error';
      throw error;
    } finally {
      observer?.done(operation, scope.requestId, scope.trace, span?.spanId, startedAtMs, outcome, {
        ...facts,
        ...(token === undefined ? {} : { fencingToken: token }),
      });
    }
  }

  /** Calls in flight now (for /health). */
  get inFlight(): number {
    return this.callsInFlight;
  }

  /** Sends one envelope to one data server after another (each at most once) until one answers. */
  private async callNow<T>(
    scope: CallScope,
    request: DataRequest,
    read: (element: XmlElement) => T,
    traceparent: string | undefined,
  ): Promise<T> {
    const tried = new Set<DataEndpoint>();
    // There is at least one endpoint; after a failure, only while one is left untried (checked below).
    const untried = (): DataEndpoint => defined(this.endpoints.pick(tried), 'an untried data endpoint');
    for (let endpoint = untried(); ; endpoint = untried()) {
      tried.add(endpoint);
      try {
        return await this.callOn(endpoint, scope, request, read, traceparent);
      } catch (error) {
        const next = this.endpoints.pick(tried);
        if (next === undefined || !failsOver(error) || scope.deadlineAtMs <= Date.now()) throw error;
        this.options.logger.warn('data server failed; sending the call to another', {
          request_id: scope.requestId,
          operation: request.operation,
          data_url: endpoint.url,
          next_url: next.url,
          error: (error as Error).message,
        });
      }
    }
  }

  private async callOn<T>(
    endpoint: DataEndpoint,
    scope: CallScope,
    request: DataRequest,
    read: (element: XmlElement) => T,
    traceparent: string | undefined,
  ): Promise<T> {
    const { operation } = request;
    const timeoutMs = (): number => Math.min(this.options.callTimeoutMs, scope.deadlineAtMs - Date.now());
    if (timeoutMs() <= 0)
      throw new DataCallError('unavailable', operation, `data tier ${operation}: the request's deadline has passed`);
    let reply: BatchedReply;
    try {
      reply = await this.send(endpoint, scope, request, timeoutMs(), traceparent);
    } catch (error) {
      if (
        error instanceof HttpLiteError &&
        error.kind === 'stale' &&
        RESEND_ON_STALE_SOCKET.has(operation) &&
        timeoutMs() > 0
      ) {
        reply = await this.send(endpoint, scope, request, timeoutMs(), traceparent).catch((again: unknown) => {
          this.endpoints.markDown(endpoint, String(again));
          throw this.unavailable(operation, again);
        });
      } else {
        if (!(error instanceof HttpLiteError && error.kind === 'stale'))
          this.endpoints.markDown(endpoint, String(error));
        throw this.unavailable(operation, error);
      }
    }
    const element = this.elementOf(operation, reply);
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

  /** Through this endpoint's batcher when the call may go in a Batch, else as its own request. */
  private async send(
    endpoint: DataEndpoint,
    scope: CallScope,
    request: DataRequest,
    timeoutMs: number,
    traceparent: string | undefined,
  ): Promise<BatchedReply> {
    const { operation, xml, batchFields } = request;
    if (batchFields === undefined || !isBatchable(operation) || this.options.batchCallsMax <= 1) {
      return { kind: 'alone', ...(await this.post(endpoint, operation, xml, timeoutMs, traceparent)) };
    }
    const call = { operation, requestId: scope.requestId, traceparent, fields: batchFields };
    return this.batcherOf(endpoint).call({ call, alone: xml, timeoutMs });
  }

  private batcherOf(endpoint: DataEndpoint): DataBatcher {
    let batcher = this.batchers.get(endpoint);
    if (batcher === undefined) {
      batcher = new DataBatcher({
        callsMax: this.options.batchCallsMax,
        batchesInFlightMax: this.options.batchesInFlightMax,
        envelopes: this.envelopes,
        post: (operation, xml, timeoutMs, traceparent) => this.post(endpoint, operation, xml, timeoutMs, traceparent),
      });
      this.batchers.set(endpoint, batcher);
    }
    return batcher;
  }

  /** The call's answer element, or its failure as a DataCallError. */
  private elementOf(operation: DataOperation, reply: BatchedReply): XmlElement {
    switch (reply.kind) {
      case 'alone':
        return this.interpret(operation, reply.status, reply.text);
      case 'answer':
        return reply.element;
      case 'fault':
        throw this.faultError(operation, reply.fault, true);
      case 'broken':
        throw new DataCallError(
          reply.status >= 500 ? 'unavailable' : 'bad-response',
          operation,
          `data tier ${operation} in a Batch: HTTP ${reply.status}, ${reply.reason}`,
        );
    }
  }

  private faultError(operation: DataOperation, fault: DataFaultDetail, inBatch: boolean): DataCallError {
    if (fault.code === 'AUTHENTICATION_FAILED') this.options.onCredentialsRefused?.();
    return new DataCallError(
      'fault',
      operation,
      `data tier ${operation}: ${fault.code}: ${fault.message}`,
      fault,
      inBatch,
    );
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
        throw this.faultError(operation, parsed.fault, false);
      case 'soap-fault-without-detail':
        throw new DataCallError(
          'unavailable',
          operation,
          `data tier ${operation}: HTTP ${status}, fault without DataFault: ${parsed.faultstring}`,
        );
      case 'body':
        if (status !== 200)
          throw new DataCallError(
            'bad-response',
            operation,
            `data tier ${operation}: HTTP ${status} with a normal body`,
          );
        return parsed.element;
    }
  }

  private async post(
    endpoint: DataEndpoint,
    operation: DataOperation | 'Batch',
    xml: string,
    timeoutMs: number,
    traceparent: string | undefined,
  ): Promise<{ status: number; text: string }> {
    const trace = traceparent === undefined ? '' : `traceparent: ${traceparent}\r\n`;
    const response = await endpoint.http.post(`SOAPAction: ${soapActionOf(operation)}\r\n${trace}`, xml, timeoutMs);
    return { status: response.status, text: response.body.toString('utf8') };
  }
}

function isBatchable(operation: DataOperation): operation is BatchableOperation {
  return Object.prototype.hasOwnProperty.call(BATCH_ELEMENTS, operation);
}

/** Worth sending to another data server: it did not answer, or it answered it cannot serve now. */
function failsOver(error: unknown): boolean {
  if (!(error instanceof DataCallError)) return false;
  return error.kind === 'unavailable' || (error.kind === 'fault' && error.fault?.code === 'SERVICE_UNAVAILABLE');
}

function describe(error: unknown): string {
  if (error instanceof BadDataResponse || error instanceof XmlSyntaxError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
