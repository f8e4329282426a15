import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { defined } from './defined';

/**
 * The metrics of one process (prom-client), every name prefixed `distbank_`: the process's own
 * (CPU, memory, event-loop lag: prom-client's defaults under the prefix) and the three every
 * tier has — requests by operation and outcome (`ok` or the fault code), their duration, and
 * the requests in flight. Each tier adds its own through `registry` (tier-metrics modules).
 * Labels take only bounded values: operation names from the WSDL, outcomes from the fault
 * registry, backend and business ids from the configuration.
 */
export const METRIC_PREFIX = 'distbank_';

/** Seconds; from 1 ms (an in-memory hop) to 10 s (a client deadline). */
export const DURATION_BUCKETS_S = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/**
 * How often the event-loop lag is sampled (prom-client's eventLoopMonitoringPrecision). Its
 * default, 10 ms, woke every process 100 times a second with nothing to do: ~9 ms of CPU per
 * second per process here, and on cores all the tiers share every wake-up costs the others
 * too (test/idle-wakeups.test.ts). At 100 ms it costs ~1 ms a second; a stall of 100 ms or
 * more is always seen, a shorter one with a chance of its length over 100 ms.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export class ProcessMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'operation' | 'outcome'>;
  readonly duration: Histogram<'operation'>;
  readonly inFlight: Gauge;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({
      register: this.registry,
      prefix: METRIC_PREFIX,
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
    });
    // Gauges that prom-client names *_total, which `promtool check metrics` rejects (a _total
    // suffix means a counter); the same counts stay as nodejs_active_{handles,requests,resources}.
    for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(`${METRIC_PREFIX}${name}`);
    this.requests = new Counter({
      name: `${METRIC_PREFIX}requests_total`,
      help: 'Requests served, by operation and outcome (ok or the fault code).',
      labelNames: ['operation', 'outcome'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: `${METRIC_PREFIX}request_duration_seconds`,
      help: 'Time from the request read to the answer sent, by operation.',
      labelNames: ['operation'],
      buckets: [...DURATION_BUCKETS_S],
      registers: [this.registry],
    });
    this.inFlight = new Gauge({
      name: `${METRIC_PREFIX}in_flight`,
      help: 'Requests being served now.',
      registers: [this.registry],
    });
  }

  /** One request finished: counted, timed and out of the in-flight gauge. */
  served(operation: string, outcome: string, durationMs: number): void {
    this.requests.inc({ operation, outcome });
    this.duration.observe({ operation }, durationMs / 1000);
    this.inFlight.dec();
  }
}

/** The operation names a WSDL declares (for bounded `operation` labels where the name comes from a caller). */
export function wsdlOperationNames(wsdlText: string): ReadonlySet<string> {
  const portType = /<wsdl:portType\b[\s\S]*?<\/wsdl:portType>/.exec(wsdlText)?.[0] ?? '';
  return new Set(
    [...portType.matchAll(/<wsdl:operation name="([A-Za-z]+)"/g)].map((m) => defined(m[1], 'the operation name group')),
  );
}
