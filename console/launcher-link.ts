import { randomUUID } from 'node:crypto';
import { fault } from '../common/service-fault';

/**
 * Dev mode: the console asks the launcher (scripts/cluster.ts, its parent) to stop, pause,
 * resume or restart a business server, over the IPC channel the launcher opened when it started
 * the console — nothing listens on the network for it. One question, one answer, with a bound.
 */
export const CONTROL_ACTIONS = ['stop', 'pause', 'resume', 'restart'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

export interface ControlRequest {
  readonly type: 'distbank-control';
  readonly id: string;
  readonly server: string;
  readonly action: ControlAction;
}

export interface ControlReply {
  readonly type: 'distbank-control-reply';
  readonly id: string;
  readonly ok: boolean;
  readonly message: string;
}

const REPLY_TIMEOUT_MS = 30_000;

export function isControlRequest(value: unknown): value is ControlRequest {
  const v = value as Partial<ControlRequest> | null;
  return (
    v !== null &&
    typeof v === 'object' &&
    v.type === 'distbank-control' &&
    typeof v.id === 'string' &&
    typeof v.server === 'string' &&
    (CONTROL_ACTIONS as readonly string[]).includes(String(v.action))
  );
}

export class LauncherLink {
  private readonly pending = new Map<string, (reply: ControlReply) => void>();

  constructor(
    private readonly send: (message: ControlRequest) => void,
    subscribe: (onMessage: (message: unknown) => void) => void,
  ) {
    subscribe((message) => {
      const m = message as Partial<ControlReply> | null;
      if (m === null || typeof m !== 'object' || m.type !== 'distbank-control-reply' || typeof m.id !== 'string')
        return;
      this.pending.get(m.id)?.(m as ControlReply);
    });
  }

  async control(server: string, action: ControlAction): Promise<string> {
    const id = randomUUID();
    const reply = await new Promise<ControlReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(fault('SERVICE_UNAVAILABLE', `the launcher did not answer within ${REPLY_TIMEOUT_MS} ms`));
      }, REPLY_TIMEOUT_MS);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(r);
      });
      this.send({ type: 'distbank-control', id, server, action });
    });
    if (!reply.ok) throw fault('INVALID_REQUEST', reply.message);
    return reply.message;
  }
}
