/**
 * BankClient: a small typed API over the client generated from bank.wsdl (client-ts/generated),
 * i.e. node-soap's client created from the local WSDL with the endpoint forced to the given URL.
 *
 * - Money is DecimalString text in and out (node-soap would parse xsd:decimal with Number():
 *   the customDeserializer below keeps every decimal, integer, boolean and dateTime as text).
 * - Every call carries the header blocks auth-token, client-id and request-id, each its own
 *   element in urn:distbank:bank:v1. The request-id is fresh (crypto.randomUUID) per call unless
 *   the caller passes one, and the SAME id is reused when the call is retried, so a retried
 *   Deposit/Withdraw/Transfer/OpenAccount moves money at most once (the server deduplicates).
 * - Retries: after a timeout, a connection error, a proxy's 502/503/504, or a retryable fault
 *   (ACCOUNT_LOCKED, RATE_LIMITED, SERVICE_UNAVAILABLE); at most `retries` times, exponential
 *   backoff with jitter (RETRY_POLICY, retryPauseMs), and never sooner than a fault's retryAfterMs (past RETRY_AFTER_MS_MAX: not retried).
 * - Faults become BankError subclasses (errors.ts); nothing is retried forever, nothing waits
 *   without a timeout, no response body is read past responseBytesMax.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AccountId,
  BANK_NAMESPACE,
  BANK_REQUEST_ID_PATTERN as REQUEST_ID_PATTERN,
  ENTRY_ID_PATTERN,
  EntryKind,
} from '../common/contract';
import { isFaultCode } from '../common/fault-codes';
import { xmlText } from '../common/xml-writer';
import { DecimalString, decimal } from './decimal';
import { BankError, bankErrorFor, BankProtocolError, BankTransportError } from './errors';
import {
  BankClient as GeneratedClient,
  createClientAsync,
  Deposit,
  GetBalance,
  GetStatement,
  OpenAccount,
  Transfer,
  Withdraw,
} from './generated/bank';
import {
  BalanceResult,
  DepositResult,
  OpenAccountResult,
  StatementResult,
  toAccountBalance,
  toDepositResult,
  toStatementResult,
  toTransferResult,
  toWithdrawResult,
  TransferResult,
  WithdrawResult,
} from './responses';

/** The WSDL shipped with the checkout; the endpoint in it is ignored (we force `url`). */
export const BANK_WSDL_PATH = join(__dirname, '..', '..', 'wsdl', 'bank.wsdl');

/** The SOAP header blocks of bank.wsdl (message ClientHeader), by part name. */
export interface BankSoapHeaders {
  readonly 'auth-token': string;
  readonly 'client-id': string;
  /** Idempotency key, `[A-Za-z0-9_.:-]{1,64}`. */
  readonly 'request-id': string;
}

export interface BankClientOptions {
  /** The bank service URL, e.g. the balancer's http://127.0.0.1:8080/bank. */
  readonly url: string;
  readonly clientId: string;
  readonly authToken: string;
  /** Deadline of one attempt (connect + send + answer). Default 10 000. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (timeouts, connection errors, retryable faults). Default RETRY_POLICY.retries. */
  readonly retries?: number;
  /** First pause; doubles per retry, capped at RETRY_POLICY.pauseMaxMs (also its maximum). Default RETRY_POLICY.firstPauseMs. */
  readonly retryDelayMs?: number;
  /** Largest response body accepted. Default 4 MiB (a 1000-entry statement is ~400 KiB). */
  readonly responseBytesMax?: number;
  /** Another copy of bank.wsdl, if the checkout's is not where this file expects it. */
  readonly wsdlPath?: string;
}

/** Per call: a request-id of the caller's choosing (else a fresh UUID). */
export interface CallOptions {
  readonly requestId?: string;
}

/** GetStatement's filter: only these kinds, and only entries older than beforeEntryId (paging). */
export interface StatementOptions extends CallOptions {
  readonly kinds?: readonly EntryKind[];
  readonly beforeEntryId?: string;
}

export const TIMEOUT_MS_DEFAULT = 10_000;
export const TIMEOUT_MS_MAX = 600_000;
export const RETRIES_MAX = 10;

/**
 * When and how often a call is sent again (after a timeout, a connection error, a proxy's
 * 502/503/504 or a retryable fault): `retries` more attempts at most; the pause before retry n
 * is firstPauseMs × 2^(n-1), capped at pauseMaxMs, then jittered down by up to `jitter` of it
 * (0.5: to as little as half) so that clients that failed together do not come back together.
 * The Python client declares the same numbers (client-py/distbank/config.py RETRY_POLICY;
 * test/cli-parity.test.ts compares them).
 */
export interface RetryPolicy {
  readonly retries: number;
  readonly firstPauseMs: number;
  readonly pauseMaxMs: number;
  readonly jitter: number;
}
export const RETRY_POLICY: RetryPolicy = Object.freeze({
  retries: 3,
  firstPauseMs: 200,
  pauseMaxMs: 2_000,
  jitter: 0.5,
});
/**
 * A RATE_LIMITED fault says how long to wait (retryAfterMs): the next attempt waits at least
 * that long. A wait longer than this is not slept through: the error goes to the caller.
 */
export const RETRY_AFTER_MS_MAX = 10_000;

/** The pause before retry number `attempt` (1 = the first retry) under `policy`. */
export function retryPauseMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceilingMs = Math.min(policy.firstPauseMs * 2 ** (attempt - 1), policy.pauseMaxMs);
  return ceilingMs * (1 - policy.jitter + policy.jitter * random());
}
export const RESPONSE_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;
/** Sockets kept per client; a CLI needs one, a busy program a few. */
const SOCKETS_MAX = 8;

/** Each operation's request element, as typed by the generated client. */
interface OperationArgs {
  OpenAccount: OpenAccount;
  GetBalance: GetBalance;
  Deposit: Deposit;
  Withdraw: Withdraw;
  Transfer: Transfer;
  GetStatement: GetStatement;
}
type Operation = keyof OperationArgs;

/** Keep the wire text: node-soap would turn decimals into floats, ints into numbers, etc. */
const keepText = (text: string): string => text;
const KEEP_TEXT_DESERIALIZER: Readonly<Record<string, (text: string) => string>> = Object.freeze(
  Object.fromEntries(
    [
      'decimal',
      'int',
      'integer',
      'long',
      'short',
      'double',
      'float',
      'boolean',
      'bool',
      'dateTime',
      'date',
      'Amount',
      'Balance',
      'SignedAmount',
    ].map((name) => [name, keepText]),
  ),
);

function checkedInt(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max)
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

/** The header blocks as node-soap will insert them into soap:Header, verbatim. */
export function headerBlocksXml(headers: BankSoapHeaders): string {
  return (Object.keys(headers) as (keyof BankSoapHeaders)[])
    .map((name) => `<tns:${name} xmlns:tns="${BANK_NAMESPACE}">${xmlText(headers[name], 'refuse')}</tns:${name}>`)
    .join('');
}

export function newRequestId(): string {
  return randomUUID();
}

interface SoapFailure {
  root?: { Envelope?: { Body?: { Fault?: Record<string, unknown> } } };
  response?: { status?: number; data?: unknown };
  body?: unknown;
  code?: string;
  message?: string;
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { $value?: unknown }).$value === 'string') {
    return (value as { $value: string }).$value;
  }
  return undefined;
}

/** A fault as node-soap parsed it: its BankFault detail as a BankError, else a protocol error. */
function faultToError(fault: Record<string, unknown>, requestId: string): BankError | BankProtocolError {
  const faultcode = textOf(fault['faultcode']);
  const faultstring = textOf(fault['faultstring']) ?? '';
  const detail = fault['detail'];
  const bankFault =
    typeof detail === 'object' && detail !== null ? (detail as Record<string, unknown>)['BankFault'] : undefined;
  if (typeof bankFault !== 'object' || bankFault === null) {
    return new BankProtocolError(
      `SOAP fault without a BankFault detail: ${faultcode ?? '?'}: ${faultstring}`,
      requestId,
      500,
    );
  }
  const f = bankFault as Record<string, unknown>;
  const code = textOf(f['code']);
  if (code === undefined || !isFaultCode(code)) {
    return new BankProtocolError(
      `BankFault with an unknown code ${JSON.stringify(code)}: ${faultstring}`,
      requestId,
      500,
    );
  }
  const retryableText =
    textOf(f['retryable']) ?? (typeof f['retryable'] === 'boolean' ? String(f['retryable']) : undefined);
  const retryAfterText = textOf(f['retryAfterMs']);
  return bankErrorFor({
    code,
    message: textOf(f['message']) ?? faultstring,
    accountId: textOf(f['accountId']),
    retryable: retryableText === undefined ? undefined : retryableText === 'true' || retryableText === '1',
    faultcode,
    requestId,
    retryAfterMs:
      retryAfterText !== undefined && /^[0-9]{1,9}$/.test(retryAfterText) ? Number(retryAfterText) : undefined,
  });
}

/** The pause before attempt+1: exponential backoff, or longer when the service asked for it. */
function pauseMs(retryAfterMs: number | undefined, policy: RetryPolicy, attempt: number): number {
  return Math.max(retryPauseMs(attempt, policy), retryAfterMs ?? 0);
}

const PROXY_UNAVAILABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/** Sort what node-soap/axios threw into our three kinds; anything else is a bug and rethrown. */
function classify(
  error: unknown,
  requestId: string,
  attempt: number,
): BankError | BankProtocolError | BankTransportError {
  if (error instanceof BankError || error instanceof BankProtocolError) return error;
  if (typeof error !== 'object' || error === null) throw error;
  const failure = error as SoapFailure;
  const fault = failure.root?.Envelope?.Body?.Fault;
  if (fault !== undefined) return faultToError(fault, requestId);
  const status = failure.response?.status;
  if (status !== undefined) {
    if (PROXY_UNAVAILABLE_STATUSES.has(status)) {
      return new BankTransportError(`HTTP ${status} without a SOAP answer`, {
        requestId,
        attempts: attempt,
        mayHaveArrived: true,
        errorCode: `HTTP_${status}`,
      });
    }
    const body =
      typeof failure.body === 'string'
        ? failure.body
        : typeof failure.response?.data === 'string'
          ? failure.response.data
          : '';
    return new BankProtocolError(`HTTP ${status}: not a SOAP answer: ${body.slice(0, 200)}`, requestId, status);
  }
  if (failure.code === 'ERR_BAD_RESPONSE' || failure.code === 'ERR_FR_MAX_BODY_LENGTH_EXCEEDED') {
    return new BankProtocolError(`bad response: ${failure.message ?? failure.code}`, requestId);
  }
  if (typeof failure.code === 'string' || failure.message === 'socket hang up') {
    const errorCode = failure.code ?? 'ECONNRESET';
    return new BankTransportError(`${errorCode}: ${failure.message ?? ''}`.trim(), {
      requestId,
      attempts: attempt,
      mayHaveArrived: errorCode !== 'ECONNREFUSED',
      errorCode,
      cause: error,
    });
  }
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- not a failure of the call (a bug): rethrown as it came
  throw error;
}

export class BankClient {
  readonly url: string;
  readonly clientId: string;
  private readonly authToken: string;
  private readonly timeoutMs: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly responseBytesMax: number;
  private readonly wsdlPath: string;
  /** Keep-alive sockets of this client: an http.Agent or, for https URLs, an https.Agent. */
  private readonly agent: Agent;
  private readonly agentOption: 'httpAgent' | 'httpsAgent';
  private soap: Promise<GeneratedClient> | undefined;

  constructor(options: BankClientOptions) {
    const url = new URL(options.url); // throws on a malformed URL, before any call
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TypeError(`url must be http(s): ${options.url}`);
    if (options.clientId === '') throw new TypeError('clientId is empty');
    if (options.authToken === '') throw new TypeError('authToken is empty');
    this.url = options.url;
    this.clientId = options.clientId;
    this.authToken = options.authToken;
    this.timeoutMs = checkedInt('timeoutMs', options.timeoutMs, TIMEOUT_MS_DEFAULT, 1, TIMEOUT_MS_MAX);
    this.retryPolicy = Object.freeze({
      ...RETRY_POLICY,
      retries: checkedInt('retries', options.retries, RETRY_POLICY.retries, 0, RETRIES_MAX),
      firstPauseMs: checkedInt(
        'retryDelayMs',
        options.retryDelayMs,
        RETRY_POLICY.firstPauseMs,
        0,
        RETRY_POLICY.pauseMaxMs,
      ),
    });
    this.responseBytesMax = checkedInt(
      'responseBytesMax',
      options.responseBytesMax,
      RESPONSE_BYTES_MAX_DEFAULT,
      1024,
      256 * 1024 * 1024,
    );
    this.wsdlPath = options.wsdlPath ?? BANK_WSDL_PATH;
    const agentOptions = { keepAlive: true, maxSockets: SOCKETS_MAX, timeout: this.timeoutMs };
    this.agent = url.protocol === 'https:' ? new HttpsAgent(agentOptions) : new Agent(agentOptions);
    this.agentOption = url.protocol === 'https:' ? 'httpsAgent' : 'httpAgent';
  }

  /** Open an account owned by the caller, optionally with an initial deposit. */
  async openAccount(initialDeposit?: DecimalString, options: CallOptions = {}): Promise<OpenAccountResult> {
    const args: OpenAccount = initialDeposit === undefined ? {} : { initialDeposit: decimal(initialDeposit) };
    return this.call('OpenAccount', args, options, (raw, id) => toAccountBalance(raw, 'OpenAccountResponse', id));
  }

  async getBalance(accountId: AccountId, options: CallOptions = {}): Promise<BalanceResult> {
    return this.call('GetBalance', { accountId }, options, (raw, id) =>
      toAccountBalance(raw, 'GetBalanceResponse', id),
    );
  }

  /** Anyone may deposit into any account; the balance comes back only for one's own. */
  async deposit(accountId: AccountId, amount: DecimalString, options: CallOptions = {}): Promise<DepositResult> {
    return this.call('Deposit', { accountId, amount: decimal(amount) }, options, toDepositResult);
  }

  async withdraw(accountId: AccountId, amount: DecimalString, options: CallOptions = {}): Promise<WithdrawResult> {
    return this.call('Withdraw', { accountId, amount: decimal(amount) }, options, toWithdrawResult);
  }

  async transfer(
    fromAccountId: AccountId,
    toAccountId: AccountId,
    amount: DecimalString,
    options: CallOptions = {},
  ): Promise<TransferResult> {
    return this.call('Transfer', { fromAccountId, toAccountId, amount: decimal(amount) }, options, toTransferResult);
  }

  /**
   * Newest entries first; limit 1..1000 (server default 100). `kinds` keeps only those kinds
   * (e.g. ['WITHDRAWAL', 'TRANSFER_OUT']: what only the owner can do); `beforeEntryId` (the
   * last entryId of a page) gives the next page.
   */
  async getStatement(accountId: AccountId, limit?: number, options: StatementOptions = {}): Promise<StatementResult> {
    if (limit !== undefined && !Number.isSafeInteger(limit))
      throw new TypeError(`limit must be an integer, got ${limit}`);
    const { kinds, beforeEntryId, ...callOptions } = options;
    if (beforeEntryId !== undefined && !ENTRY_ID_PATTERN.test(beforeEntryId))
      throw new TypeError(`beforeEntryId must be an entryId, got ${JSON.stringify(beforeEntryId)}`);
    const args: GetStatement = {
      accountId,
      ...(limit === undefined ? {} : { limit: String(limit) }),
      ...(kinds === undefined || kinds.length === 0 ? {} : { kind: [...kinds] }),
      ...(beforeEntryId === undefined ? {} : { beforeEntryId }),
    };
    return this.call('GetStatement', args, callOptions, toStatementResult);
  }

  /** Close idle keep-alive sockets. The client stays usable (new sockets are opened). */
  close(): void {
    this.agent.destroy();
  }

  private soapClient(): Promise<GeneratedClient> {
    this.soap ??= createClientAsync(this.wsdlPath, {
      endpoint: this.url,
      customDeserializer: KEEP_TEXT_DESERIALIZER,
      // The WSDL is local; nothing to fetch. Explicit so that no default reaches the network.
      wsdl_options: { timeout: this.timeoutMs },
    }).catch((error: unknown) => {
      this.soap = undefined; // let the next call try again
      throw error;
    });
    return this.soap;
  }

  private async call<O extends Operation, R>(
    operation: O,
    args: OperationArgs[O],
    options: CallOptions,
    convert: (raw: unknown, requestId: string) => R,
  ): Promise<R> {
    const requestId = options.requestId ?? newRequestId();
    if (!REQUEST_ID_PATTERN.test(requestId))
      throw new TypeError(`request-id must match ${REQUEST_ID_PATTERN.source}, got ${JSON.stringify(requestId)}`);
    // Built once, before the first attempt: a value XML cannot carry throws XmlCharError here, unsent.
    const headerXml = headerBlocksXml({
      'auth-token': this.authToken,
      'client-id': this.clientId,
      'request-id': requestId,
    });
    const client = await this.soapClient();
    let mayHaveArrived = false; // did any failed attempt possibly reach the server?
    for (let attempt = 1; ; attempt++) {
      try {
        const raw = await this.send(client, operation, args, headerXml);
        return convert(raw, requestId);
      } catch (error: unknown) {
        let failure = classify(error, requestId, attempt);
        if (failure instanceof BankTransportError) {
          mayHaveArrived ||= failure.mayHaveArrived;
          failure = new BankTransportError(failure.message, {
            requestId,
            attempts: attempt,
            mayHaveArrived,
            errorCode: failure.errorCode,
            cause: failure.cause,
          });
        }
        if (!failure.retryable || attempt > this.retryPolicy.retries) throw failure;
        const retryAfterMs = failure instanceof BankError ? failure.retryAfterMs : undefined;
        if (retryAfterMs !== undefined && retryAfterMs > RETRY_AFTER_MS_MAX) throw failure;
        await sleep(pauseMs(retryAfterMs, this.retryPolicy, attempt));
      }
    }
  }

  private async send<O extends Operation>(
    client: GeneratedClient,
    operation: O,
    args: OperationArgs[O],
    headerXml: string,
  ): Promise<unknown> {
    // node-soap keeps SOAP headers on the client object, but builds the envelope synchronously
    // inside the *Async call below; setting them in the same tick keeps concurrent calls apart.
    client.clearSoapHeaders();
    client.addSoapHeader(headerXml);
    // The generated signatures differ only in their argument type, which OperationArgs pins.
    const method = client[`${operation}Async`] as (
      args: OperationArgs[O],
      options: Record<string, unknown>,
    ) => Promise<[unknown, ...unknown[]]>;
    const [result] = await method.call(client, args, {
      timeout: this.timeoutMs,
      signal: AbortSignal.timeout(this.timeoutMs),
      [this.agentOption]: this.agent,
      maxContentLength: this.responseBytesMax,
      maxBodyLength: 1024 * 1024,
      maxRedirects: 0,
    });
    return result;
  }
}
