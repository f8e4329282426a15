import { Counter, Registry } from 'prom-client';
import { METRIC_PREFIX } from '../common/metrics';
import type { FaultHooks } from './fault-actions';

/** `distbank_faults_injected_total{action}`: every injected effect, counted where it is logged. */
export function faultsInjectedCounter(registry: Registry): NonNullable<FaultHooks['onInjected']> {
  const counter = new Counter({
    name: `${METRIC_PREFIX}faults_injected_total`,
    help: 'Effects injected on purpose by the fault rules (--faults), by action.',
    labelNames: ['action'],
    registers: [registry],
  });
  return (fired) => counter.inc({ action: fired.rule.action });
}
