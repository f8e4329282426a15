import type http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SOAP_CONTENT_TYPE } from '../common/contract';
import type { Logger } from '../common/logger';
import { fault } from '../common/service-fault';
import type { Delivery, OperationContext, OperationHandler } from '../common/soap-host';
import { SeededRandom } from '../common/seeded-random';
import { unavailable } from './data-faults';
import { FaultInjector, FiredRule } from './fault-injector';
import { DelaySpec } from './fault-rules';
import { defined } from '../common/defined';

/**
 * The injected effects, around the operations of bank-operations.ts. Money rules first: an
 * effect either comes before the operation runs at all (nothing locked, nothing written) or
 * after it returned (the data tier's Update committed and released): never between Lock and
 * Update, so no injected fault can leave half a transfer. Every effect is logged (warn, with
 * the rule's index and action), added to the request's own log line (`fault_injected`) and
 * reported to `onInjected` (metrics, traces).
 */
export interface FaultHooks {
  readonly logger: Logger;
  onInjected?(fired: FiredRule, ctx: OperationContext): void;
}

/** Pieces of a dribbled answer: enough to be slow on the wire, few enough to stay cheap. */
const DRIBBLE_CHUNKS_MAX = 20;

const dropConnection: Delivery = (res) => {
  res.socket?.destroy();
};
const resetConnection: Delivery = (res) => {
  const socket = res.socket;
  if (socket === null) return;
  // A TCP RST rather than a FIN: what a crashed peer or a middlebox sends.
  socket.resetAndDestroy();
};

function dribble(durationMs: number): Delivery {
  return (res: http.ServerResponse, status: number, body: string) => {
    const bytes = Buffer.from(body, 'utf8');
    const chunks = Math.max(1, Math.min(DRIBBLE_CHUNKS_MAX, bytes.length));
    const size = Math.ceil(bytes.length / chunks);
    res.writeHead(status, { 'Content-Type': SOAP_CONTENT_TYPE, 'Content-Length': bytes.length });
    res.flushHeaders();
    let sent = 0;
    const timer = setInterval(() => {
      const piece = bytes.subarray(sent, sent + size);
      sent += piece.length;
      if (sent >= bytes.length) {
        clearInterval(timer);
        res.end(piece);
      } else {
        res.write(piece);
      }
    }, durationMs / chunks);
    res.once('close', () => clearInterval(timer));
  };
}

/** A delay drawn from the rule's own value generator (fault-injector.ts). */
export function delayMsOf(spec: DelaySpec, values: SeededRandom): number {
  if (spec.kind === 'fixed') return spec.ms;
  if (spec.kind === 'uniform') return values.int(spec.minMs, spec.maxMs);
  // Lognormal: median √(min·max), min and max at ±2σ, clamped to [min, max] (Box–Muller).
  const sigma = Math.log(spec.maxMs / spec.minMs) / 4;
  const z = Math.sqrt(-2 * Math.log(1 - values.next())) * Math.cos(2 * Math.PI * values.next());
  const ms = Math.round(Math.sqrt(spec.minMs * spec.maxMs) * Math.exp(sigma * z));
  return Math.min(spec.maxMs, Math.max(spec.minMs, ms));
}

function injectedMessage(fired: FiredRule, what: string): string {
  return `${what} (injected by fault rule ${fired.index}, ${fired.rule.action})`;
}

async function apply(
  fired: FiredRule,
  handler: OperationHandler,
  args: Record<string, unknown>,
  ctx: OperationContext,
): Promise<Record<string, unknown>> {
  const rule = fired.rule;
  switch (rule.action) {
    case 'delay':
      await sleep(delayMsOf(defined(rule.delay, 'the delay of a delay rule'), fired.values));
      return handler(args, ctx);
    case 'fault': {
      const code = defined(rule.code, 'the code of a fault rule');
      throw fault(code, injectedMessage(fired, `fault ${code}`));
    }
    case 'drop-before-commit':
      ctx.deliverWith(dropConnection);
      throw fault('SERVICE_UNAVAILABLE', injectedMessage(fired, 'connection dropped before anything was done'));
    case 'reset':
      ctx.deliverWith(resetConnection);
      throw fault('SERVICE_UNAVAILABLE', injectedMessage(fired, 'connection reset before anything was done'));
    case 'drop-after-commit':
      // The operation runs to its end (committed, lock released); whatever it answers is lost.
      ctx.deliverWith(dropConnection);
      return handler(args, ctx);
    case 'slow-response':
      ctx.deliverWith(dribble(defined(rule.durationMs, 'the duration of a slow-response rule')));
      return handler(args, ctx);
    case 'data-unavailable':
      // Exactly what a client hears when the data tier is down (data-faults.ts).
      throw unavailable();
    case 'lock-contention':
      // No real lock is taken: this request waits as if the account were held, then hears what
      // a lock wait past its bound says. Other requests on the account are not held up.
      await sleep(rule.durationMs);
      throw fault('ACCOUNT_LOCKED', `account is busy with another request; retry later with the same request-id`);
  }
}

/** The account ids a request names, as sent (matching only; the operation validates them). */
function accountIdsOf(args: Record<string, unknown>): string[] {
  const ids: string[] = [];
  for (const name of ['accountId', 'fromAccountId', 'toAccountId']) {
    const value = args[name];
    if (typeof value === 'string') ids.push(value);
  }
  return ids;
}

export function withFaults(
  operations: Readonly<Record<string, OperationHandler>>,
  injector: FaultInjector,
  hooks: FaultHooks,
): Readonly<Record<string, OperationHandler>> {
  const wrapped: Record<string, OperationHandler> = {};
  for (const [operation, handler] of Object.entries(operations)) {
    wrapped[operation] = (args, ctx) => {
      const fired = injector.decide({ operation, clientId: ctx.principalId, accountIds: accountIdsOf(args) });
      if (fired === undefined) return handler(args, ctx);
      const label = `rule ${fired.index} ${fired.rule.action}`;
      hooks.logger.warn('fault injected', {
        request_id: ctx.requestId,
        operation,
        rule: fired.index,
        action: fired.rule.action,
      });
      ctx.annotate({ fault_injected: label });
      hooks.onInjected?.(fired, ctx);
      return apply(fired, handler, args, ctx);
    };
  }
  return Object.freeze(wrapped);
}
