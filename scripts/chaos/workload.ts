import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { transactionIdFor } from '../../business/transaction-id';
import { BankWire, Caller } from '../lib/bank-wire';
import { attempt, OpRequest } from './bank-calls';
import { Attempt, OpRecord, Outcome } from './history';
import { SeededRandom } from '../../common/seeded-random';
import { itemAt } from '../../common/defined';

/**
 * The chaos workload: concurrent clients doing random transfers, withdrawals and deposits, each
 * request with its own request-id, re-sent with the SAME id after a timeout, a network error or
 * a retryable fault (bounded tries, exponential back-off with seeded jitter). Every attempt is
 * recorded. The choice of operations is seeded per worker, so a seed gives the same requests.
 */
export interface ChaosAccount {
  readonly accountId: string;
  readonly owner: Caller;
}

export interface WorkloadOptions {
  readonly clients: number;
  readonly seconds: number;
  readonly triesMax: number;
  readonly backoffMsBase: number;
  readonly backoffMsMax: number;
  readonly amountCentsMax: number;
  /** Tag in every request-id, unique per run. */
  readonly runTag: string;
}

export interface RetryPolicy {
  readonly triesMax: number;
  readonly backoffMsBase: number;
  readonly backoffMsMax: number;
}

/** The request-id of request `seq` of worker `w`: within bank.wsdl's 64 characters of [A-Za-z0-9_.:-]. */
export function requestIdOf(runTag: string, worker: number, seq: number): string {
  return `${runTag}-w${worker}-${seq}`;
}

function pickRequest(
  rng: SeededRandom,
  accounts: readonly ChaosAccount[],
  own: readonly ChaosAccount[],
  amountCentsMax: number,
): OpRequest {
  const amountCents = rng.int(1, amountCentsMax);
  const dice = rng.next();
  const mine = rng.pick(own);
  if (dice < 0.15) return { op: 'withdraw', from: mine.accountId, amountCents };
  if (dice < 0.3) return { op: 'deposit', to: rng.pick(accounts).accountId, amountCents };
  let other = rng.pick(accounts);
  while (other.accountId === mine.accountId) other = rng.pick(accounts);
  return { op: 'transfer', from: mine.accountId, to: other.accountId, amountCents };
}

/** Sends one request until it has a definite answer or the tries run out. */
export async function runRequest(
  wire: BankWire,
  caller: Caller,
  req: OpRequest,
  requestId: string,
  policy: RetryPolicy,
  rng: SeededRandom,
  clock: () => number,
  phase: 'run' | 'replay',
): Promise<{ attempts: Attempt[]; outcome: Outcome }> {
  const attempts: Attempt[] = [];
  for (let tryNo = 1; tryNo <= policy.triesMax; tryNo++) {
    const startMs = clock();
    const result = await attempt(wire, caller, req, requestId);
    attempts.push({ startMs, endMs: clock(), phase, result });
    if (result.kind === 'ok') return { attempts, outcome: { kind: 'ok', transactionId: result.transactionId } };
    if (result.kind === 'fault' && !result.retryable) return { attempts, outcome: { kind: 'fail', code: result.code } };
    if (tryNo < policy.triesMax) {
      const capMs = Math.min(policy.backoffMsMax, policy.backoffMsBase * 2 ** (tryNo - 1));
      await sleep(capMs / 2 + (rng.next() * capMs) / 2);
    }
  }
  return { attempts, outcome: { kind: 'indeterminate' } };
}

export async function runWorkload(
  wire: BankWire,
  accounts: readonly ChaosAccount[],
  options: WorkloadOptions,
  seed: number,
  clock: () => number,
  onOp: (op: OpRecord) => void,
): Promise<OpRecord[]> {
  const ops: OpRecord[] = [];
  const owners = [...new Map(accounts.map((a) => [a.owner.clientId, a.owner])).values()];
  const endAt = performance.now() + options.seconds * 1000;
  const root = new SeededRandom(seed);
  const worker = async (w: number): Promise<void> => {
    const rng = root.fork(w + 1);
    const owner = itemAt(owners, w % owners.length);
    const own = accounts.filter((a) => a.owner.clientId === owner.clientId);
    for (let seq = 0; performance.now() < endAt; seq++) {
      const req = pickRequest(rng, accounts, own, options.amountCentsMax);
      const requestId = requestIdOf(options.runTag, w, seq);
      const { attempts, outcome } = await runRequest(wire, owner, req, requestId, options, rng, clock, 'run');
      const record: OpRecord = {
        type: 'op',
        requestId,
        clientId: owner.clientId,
        ...req,
        transactionId: transactionIdFor(owner.clientId, requestId),
        attempts,
        outcome,
      };
      ops.push(record);
      onOp(record);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_v, w) => worker(w)));
  return ops;
}
