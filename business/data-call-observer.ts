import { Histogram } from 'prom-client';
import { METRIC_PREFIX, DURATION_BUCKETS_S } from '../common/metrics';
import { SoapObserver } from '../common/soap-observer';
import { newSpanId, TraceContext, traceparentOf } from '../common/trace-ring';
import type { DataOperation } from './data-envelope';

/**
 * What a business server remembers of each data-tier call: its latency by operation and outcome
 * (`distbank_data_call_duration_seconds`), and one ring entry (operation, outcome, fencing token,
 * transaction id, the data server called) under the client's request id, so that the console's
 * trace shows each Lock / Update / Unlock of a request. Each call is its own span: the data
 * server receives `traceparent` with this call's span id as parent.
 */
export interface CallFacts {
  readonly fencingToken?: string;
  readonly transactionId?: string;
  readonly accounts?: readonly string[];
}

export class DataCallObserver {
  private readonly latency: Histogram<'operation' | 'outcome'>;

  constructor(
    private readonly observer: SoapObserver,
    private readonly peer: string,
  ) {
    this.latency = new Histogram({
      name: `${METRIC_PREFIX}data_call_duration_seconds`,
      help: 'Business → data tier calls: time to the answer, by operation and outcome (ok, a fault code, unavailable).',
      labelNames: ['operation', 'outcome'],
      buckets: [...DURATION_BUCKETS_S],
      registers: [observer.metrics.registry],
    });
  }

  /** A span for one call; its traceparent goes on the wire. */
  span(trace: TraceContext | undefined): { spanId: string; traceparent: string } | undefined {
    if (trace === undefined) return undefined;
    const spanId = newSpanId();
    return { spanId, traceparent: traceparentOf(trace, spanId) };
  }

  done(
    operation: DataOperation,
    requestId: string,
    trace: TraceContext | undefined,
    spanId: string | undefined,
    startedAtMs: number,
    outcome: string,
    facts: CallFacts,
  ): void {
    const durationMs = Date.now() - startedAtMs;
    this.latency.observe({ operation, outcome }, durationMs / 1000);
    this.observer.record({
      atMs: startedAtMs,
      kind: 'call',
      requestId,
      traceId: trace?.traceId ?? '',
      spanId: spanId ?? '',
      parentSpanId: trace?.spanId ?? '',
      operation,
      outcome,
      durationMs,
      peer: this.peer,
      ...facts,
    });
  }
}
