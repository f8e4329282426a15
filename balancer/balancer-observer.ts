import { Counter, Gauge } from 'prom-client';
import { METRIC_PREFIX, ProcessMetrics, wsdlOperationNames } from '../common/metrics';
import { SoapObserver } from '../common/soap-observer';
import { newSpanId, TraceContext, traceContextOf, traceparentOf } from '../common/trace-ring';
import { BackendPool } from './pool';

/**
 * The balancer's metrics and trace ring (common/soap-observer.ts), with its own facts: each
 * backend's state (healthy, eligible, outstanding), attempts per backend and retries, and one
 * ring entry per request and per attempt. The operation label comes from the caller's
 * SOAPAction, so it is cut to the operations bank.wsdl declares (else `other`); the outcome is
 * `ok`, the fault code the balancer sent, or the code read from a relayed fault's first bytes.
 */
const FAULT_SNIFF_BYTES_MAX = 4096;

/** What a request's log line, metrics and ring entries name it by. */
export interface RequestIds {
  requestId: string;
  /** Bounded to the WSDL's operation names (a metric label). */
  readonly operation: string;
  /** Continued from the client's traceparent, or started here, once the body is read. */
  trace: TraceContext | undefined;
}

/** The parts of the balancer's per-request outcome the observer reads. */
export interface ObservedOutcome {
  readonly status: number;
  readonly retries: number;
  readonly backend: string;
  readonly code?: string;
}
const FAULT_CODE = /<(?:[A-Za-z_][\w.-]*:)?code>([A-Z_]{1,64})</;

export class BalancerObserver {
  readonly soap: SoapObserver;
  private readonly operations: ReadonlySet<string>;
  private readonly attempts: Counter<'backend' | 'result'>;
  private readonly retries: Counter;

  constructor(wsdlText: string, ringEntries: number, pool: BackendPool) {
    this.soap = new SoapObserver(new ProcessMetrics('balancer'), ringEntries);
    this.operations = wsdlOperationNames(wsdlText);
    const registers = [this.soap.metrics.registry];
    this.attempts = new Counter({
      name: `${METRIC_PREFIX}balancer_attempts_total`,
      help: 'Tries sent to a business server, by backend and result (response or failed).',
      labelNames: ['backend', 'result'],
      registers,
    });
    this.retries = new Counter({
      name: `${METRIC_PREFIX}balancer_retries_total`,
      help: 'Tries sent again to another business server after one failed without an answer.',
      registers,
    });
    const backendGauge = (
      name: string,
      help: string,
      value: (s: ReturnType<BackendPool['states']>[number], i: number) => number,
    ): void => {
      const gauge: Gauge<'backend'> = new Gauge({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames: ['backend'],
        registers,
        collect() {
          pool.states(Date.now()).forEach((s, i) => gauge.set({ backend: new URL(s.url).host }, value(s, i)));
        },
      });
    };
    backendGauge('backend_up', '1 when the active health checks find the business server up.', (s) =>
      s.healthy ? 1 : 0,
    );
    backendGauge(
      'backend_eligible',
      '1 when the business server gets new requests (healthy and not passively marked down).',
      (s) => (s.eligible ? 1 : 0),
    );
    backendGauge(
      'backend_outstanding',
      'Requests outstanding on the business server.',
      (_s, i) => pool.backends[i]?.outstanding ?? 0,
    );
    this.soap.extras = { state: () => Promise.resolve({ tier: 'balancer', backends: pool.states(Date.now()) }) };
  }

  operationLabel(operation: string): string {
    return this.operations.has(operation) ? operation : 'other';
  }

  /** One try on one backend is a span of its own: its `traceparent` goes into the forwarded headers. */
  startAttempt(ids: RequestIds): { spanId: string; startedAtMs: number; traceparent: string } {
    ids.trace ??= traceContextOf(undefined);
    const spanId = newSpanId();
    return { spanId, startedAtMs: Date.now(), traceparent: traceparentOf(ids.trace, spanId) };
  }

  endAttempt(
    ids: RequestIds,
    span: { spanId: string; startedAtMs: number },
    backend: string,
    n: number,
    outcome: string,
  ): void {
    this.attempts.inc({ backend, result: outcome.startsWith('HTTP ') ? 'response' : 'failed' });
    if (n > 0) this.retries.inc();
    this.soap.record({
      atMs: span.startedAtMs,
      kind: 'attempt',
      requestId: ids.requestId,
      traceId: ids.trace?.traceId ?? '',
      spanId: span.spanId,
      parentSpanId: ids.trace?.spanId ?? '',
      operation: ids.operation,
      outcome,
      durationMs: Date.now() - span.startedAtMs,
      peer: backend,
      detail: { attempt: String(n + 1) },
    });
  }

  /** The request is over (answered, refused or abandoned): counted, timed, in the ring. */
  served(ids: RequestIds, outcome: ObservedOutcome, startedAtMs: number): void {
    const result =
      outcome.status === 200
        ? 'ok'
        : (outcome.code ?? (outcome.status === 0 ? 'client_gone' : `HTTP_${outcome.status}`));
    this.soap.end({
      operation: ids.operation,
      outcome: result,
      startedAtMs,
      durationMs: Date.now() - startedAtMs,
      requestId: ids.requestId,
      principal: undefined,
      trace: ids.trace,
      fields: { retries: outcome.retries, backend: outcome.backend },
    });
  }

  /** The fault code of a relayed non-200 answer, read from a bounded prefix of its body. */
  sniffFaultCode(status: number, body: Buffer): string | undefined {
    if (status === 200) return undefined;
    return FAULT_CODE.exec(body.toString('utf8', 0, Math.min(body.length, FAULT_SNIFF_BYTES_MAX)))?.[1];
  }
}
