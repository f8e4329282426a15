import { METRIC_PREFIX } from '../../common/metrics';
import { sampleSum } from './metrics-text';

/**
 * What the data tier served over a bench run, from its /metrics: the calls (requests_total of
 * Lock, Update, Unlock, Read) and the Batch requests with the calls they carried
 * (batch_calls_sum / _count). HTTP requests = Batch requests + the calls that went alone.
 */
export interface DataServed {
  readonly calls: number;
  readonly batches: number;
  readonly batchedCalls: number;
}

const CALL_OPERATIONS = ['Lock', 'Update', 'Unlock', 'Read'];
const METRICS_TIMEOUT_MS = 2000;
const NONE: DataServed = { calls: 0, batches: 0, batchedCalls: 0 };

/** The counts now; zeros when /metrics cannot be read (a diagnostic extra). */
export async function dataServed(healthUrl: string | undefined, adminToken: string | undefined): Promise<DataServed> {
  if (healthUrl === undefined || adminToken === undefined) return NONE;
  try {
    const response = await fetch(new URL('/metrics', healthUrl), {
      headers: { authorization: `Bearer ${adminToken}` },
      signal: AbortSignal.timeout(METRICS_TIMEOUT_MS),
    });
    return countsOf(await response.text());
  } catch {
    return NONE;
  }
}

function countsOf(metrics: string): DataServed {
  const calls = CALL_OPERATIONS.reduce(
    (sum, operation) => sum + sampleSum(metrics, `${METRIC_PREFIX}requests_total`, { operation }),
    0,
  );
  return {
    calls,
    batches: sampleSum(metrics, `${METRIC_PREFIX}batch_calls_count`),
    batchedCalls: sampleSum(metrics, `${METRIC_PREFIX}batch_calls_sum`),
  };
}

/** One line: the data tier's calls and HTTP requests per transfer, and the calls per Batch. */
export function describeDataServed(before: DataServed, after: DataServed, transfers: number): string | undefined {
  const calls = after.calls - before.calls;
  if (calls <= 0) return undefined;
  const batches = after.batches - before.batches;
  const batchedCalls = after.batchedCalls - before.batchedCalls;
  const requests = batches + (calls - batchedCalls);
  const perBatch = batches === 0 ? '' : `, ${(batchedCalls / batches).toFixed(1)} calls each`;
  return (
    `data tier: ${(calls / transfers).toFixed(2)} calls and ${(requests / transfers).toFixed(2)} HTTP requests per transfer` +
    ` (${batches} Batch requests${perBatch})`
  );
}
