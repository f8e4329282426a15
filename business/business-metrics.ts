import { Gauge } from 'prom-client';
import { METRIC_PREFIX, ProcessMetrics } from '../common/metrics';
import { SoapObserver } from '../common/soap-observer';
import { AccountQueue } from './account-queue';
import { DataCallObserver } from './data-call-observer';
import { DataClient } from './data-client';

/**
 * A business server's own metrics and admin state, next to the edge's (common/metrics.ts):
 * its per-account queues (requests running + waiting, in all and on the busiest account), the
 * data-tier calls in flight, and every data-tier call's latency (data-call-observer.ts).
 */
/** `peer` of the data-call ring entries: the data server (or, with several, the list this server fails over among). */
export function businessObserver(
  businessId: string,
  dataUrls: readonly string[],
  ringEntries: number,
): { observer: SoapObserver; dataCalls: DataCallObserver } {
  const observer = new SoapObserver(new ProcessMetrics(`bank-${businessId}`), ringEntries);
  return { observer, dataCalls: new DataCallObserver(observer, dataUrls.map((u) => new URL(u).host).join(',')) };
}

export function watchBusiness(observer: SoapObserver, queue: AccountQueue, data: DataClient, businessId: string): void {
  const registers = [observer.metrics.registry];
  new Gauge({
    name: `${METRIC_PREFIX}account_queue_depth`,
    help: "Requests running or waiting in this server's per-account queues, over all accounts.",
    registers,
    collect() {
      this.set(queue.depths().total);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}account_queue_depth_max`,
    help: 'Requests running or waiting on the busiest account of this server.',
    registers,
    collect() {
      this.set(queue.depths().max);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}data_calls_in_flight`,
    help: 'Data-tier calls on a socket or waiting for one.',
    registers,
    collect() {
      this.set(data.inFlight);
    },
  });
  observer.extras = {
    state: () =>
      Promise.resolve({
        tier: 'business',
        businessId,
        queue: queue.depths(),
        busyAccounts: queue.busyAccounts,
        dataCallsInFlight: data.inFlight,
      }),
  };
}
