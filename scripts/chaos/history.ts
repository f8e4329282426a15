import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * The history of a chaos run: every client operation with every attempt it made and its final
 * outcome, and every nemesis window. Written as JSON lines (one record a line) so a run that is
 * cut off still leaves a readable prefix; read back for the checker and the report.
 *
 * Times are milliseconds since the run's start (monotonic clock of the chaos process).
 */
export type OpKind = 'transfer' | 'withdraw' | 'deposit';

/** What one attempt saw: an answer (ok or a fault code) or no answer at all. */
export type AttemptResult =
  | { readonly kind: 'ok'; readonly transactionId: string }
  | { readonly kind: 'fault'; readonly code: string; readonly retryable: boolean }
  | { readonly kind: 'no-answer'; readonly reason: string };

export interface Attempt {
  readonly startMs: number;
  readonly endMs: number;
  /** 'run' during the workload, 'replay' when the checker re-sent an indeterminate request. */
  readonly phase: 'run' | 'replay';
  readonly result: AttemptResult;
}

/**
 * ok: acknowledged with a transaction id. fail: a definite (non-retryable) fault — nothing may
 * have moved. indeterminate: every attempt ended without a definite answer (timeouts, network
 * errors, retryable faults until the tries ran out): the money may or may not have moved.
 */
export type Outcome =
  | { readonly kind: 'ok'; readonly transactionId: string }
  | { readonly kind: 'fail'; readonly code: string }
  | { readonly kind: 'indeterminate' };

export interface OpRecord {
  readonly type: 'op';
  readonly requestId: string;
  readonly clientId: string;
  readonly op: OpKind;
  /** transfer: from → to; withdraw: from; deposit: to. */
  readonly from?: string;
  readonly to?: string;
  readonly amountCents: number;
  /** The data tier's transaction id this request maps to (derived from client-id + request-id). */
  readonly transactionId: string;
  readonly attempts: readonly Attempt[];
  /** Outcome at the end of the workload. */
  readonly outcome: Outcome;
  /** Outcome after the replay of an indeterminate request (absent when none was needed). */
  readonly resolved?: Outcome;
}

export interface NemesisRecord {
  readonly type: 'nemesis';
  readonly name: string;
  /** What it acted on, e.g. 'data', 'b2', 'balancer', 'postgres'. */
  readonly target: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Set when the nemesis could not act (process gone, command failed). */
  readonly error?: string;
}

export interface RunRecord {
  readonly type: 'run';
  readonly seed: number;
  readonly startedAt: string;
  readonly options: Readonly<Record<string, unknown>>;
}

export type HistoryRecord = RunRecord | OpRecord | NemesisRecord;

export interface History {
  readonly run: RunRecord | undefined;
  readonly ops: readonly OpRecord[];
  readonly nemeses: readonly NemesisRecord[];
}

export function finalOutcome(op: OpRecord): Outcome {
  return op.resolved ?? op.outcome;
}

export function writeHistory(path: string, history: History): void {
  const lines: string[] = [];
  if (history.run !== undefined) lines.push(JSON.stringify(history.run));
  for (const op of history.ops) lines.push(JSON.stringify(op));
  for (const n of history.nemeses) lines.push(JSON.stringify(n));
  writeFileSync(path, lines.join('\n') + '\n');
}

export function appendRecord(path: string, record: HistoryRecord): void {
  appendFileSync(path, JSON.stringify(record) + '\n');
}

export function readHistory(path: string): History {
  let run: RunRecord | undefined;
  const ops: OpRecord[] = [];
  const nemeses: NemesisRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const record = JSON.parse(line) as HistoryRecord;
    if (record.type === 'run') run = record;
    else if (record.type === 'op') ops.push(record);
    else nemeses.push(record);
  }
  return { run, ops, nemeses };
}
