import { FAULT_CODES } from './fault-codes';
import type { FaultFields } from './soap-fault';
import type { OperationContext, OperationHandler } from './soap-host';
import { fault, isServiceFault } from './service-fault';
import { TraceContext, traceContextOf } from './trace-ring';

/**
 * A batch operation (data.wsdl: Batch): several calls of other operations in one request, each
 * answered on its own, in order — its result, or its own fault. It exists for the cost of a
 * request: the business → data hop carries two calls per transfer, and the HTTP round trip
 * (parse, authentication, write syscalls on both sides) costs more than the call's work, so a
 * business server sends the calls of one moment as one batch (business/data-batcher.ts).
 *
 * The calls run concurrently, as if they had come as separate requests at the same moment:
 * each has its own request id, trace context, log line, metrics and trace-ring entry, and the
 * envelope's authenticated principal. The envelope has its own log line too (operation Batch).
 */
export interface BatchSpec {
  /** The batch operation (Batch). */
  readonly operation: string;
  /** A call's child element → the operation it runs (lock → Lock). */
  readonly calls: Readonly<Record<string, string>>;
  /** Calls in one batch, at most (the WSDL's maxOccurs). */
  readonly callsMax: number;
  /** Told the number of calls of every batch that is run (a metric). */
  readonly onBatch?: (calls: number) => void;
}

/** One call of a batch, as soap-host runs and logs it. */
export interface BatchCall {
  readonly operation: string;
  readonly requestId: string;
  readonly trace: TraceContext;
  readonly args: Record<string, unknown>;
  /** The element its answer goes in (lock, update, unlock). */
  readonly answerElement: string;
}

/** What soap-host lends a batch: its handlers, and how one call is begun, logged and faulted. */
export interface BatchRunner {
  readonly operations: Readonly<Record<string, OperationHandler>>;
  /** Starts the call's log line and metrics; its context has the call's request id and trace. */
  begin(call: BatchCall, envelope: OperationContext): { ctx: OperationContext; end: CallEnd };
}

/** Ends a call's log line: 'ok', or the fault it answered (and, for a bug, the error to log). */
export type CallEnd = (outcome: string, extra?: Record<string, unknown>) => void;

/** The calls of a batch's arguments (validated by soap-message.ts: one alternative each). */
export function batchCalls(spec: BatchSpec, args: Record<string, unknown>): BatchCall[] {
  const calls = (args.call ?? []) as Record<string, unknown>[];
  if (calls.length === 0 || calls.length > spec.callsMax)
    throw fault('INVALID_REQUEST', `a batch holds 1 to ${spec.callsMax} calls, not ${calls.length}`);
  return calls.map((call) => {
    const answerElement = Object.keys(spec.calls).find((name) => call[name] !== undefined);
    if (answerElement === undefined) throw new Error('a batch call without an operation passed the schema');
    return {
      operation: spec.calls[answerElement] as string,
      requestId: call.requestId as string,
      trace: traceContextOf(call.traceparent as string | undefined),
      args: call[answerElement] as Record<string, unknown>,
      answerElement,
    };
  });
}

/** Runs every call at once; the answers keep the calls' order. Never rejects. */
export async function runBatch(
  runner: BatchRunner,
  calls: readonly BatchCall[],
  envelope: OperationContext,
): Promise<Record<string, unknown>> {
  const answers = await Promise.all(calls.map((call) => runCall(runner, call, envelope)));
  return { answer: answers };
}

async function runCall(
  runner: BatchRunner,
  call: BatchCall,
  envelope: OperationContext,
): Promise<Record<string, unknown>> {
  const { ctx, end } = runner.begin(call, envelope);
  try {
    const handler = runner.operations[call.operation];
    if (handler === undefined) throw new Error(`batch call of an operation without a handler: ${call.operation}`);
    const result = await handler(call.args, ctx);
    end('ok');
    return { [call.answerElement]: result };
  } catch (error) {
    return { fault: faultAnswer(faultOf(error, call.requestId, end)) };
  }
}

/** A call's fault: a service fault as it is; anything else INTERNAL_ERROR, the details only logged. */
function faultOf(error: unknown, requestId: string, end: CallEnd): FaultFields {
  if (isServiceFault(error)) {
    end(error.code, { fault_message: error.message });
    return error;
  }
  end('INTERNAL_ERROR', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  return { code: 'INTERNAL_ERROR', message: `internal error; quote request id ${requestId}` };
}

function faultAnswer(fields: FaultFields): Record<string, unknown> {
  return {
    code: fields.code,
    message: fields.message,
    accountId: fields.accountId,
    retryable: FAULT_CODES[fields.code].retryable ? 'true' : 'false',
  };
}
