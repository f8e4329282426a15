import { BATCH_ELEMENTS, BatchCallXml, DataEnvelopes, DataOperation } from './data-envelope';
import { BadDataResponse, DataFaultDetail, parseEnvelope, readBatchResponse } from './data-response';
import { XmlElement, XmlSyntaxError } from '../common/xml-reader';
import { itemAt } from '../common/defined';

/**
 * Sends the Lock / Update / Unlock calls that a business server makes to one data server in the
 * same moment as one data.wsdl Batch. Why: a transfer is two calls, and each HTTP round trip
 * costs both sides more CPU (parse, authentication, a write syscall each way) than the call's
 * own work; PostgreSQL already commits the calls of one moment together (server/pg-batcher.ts),
 * this does the same for the hop before it (numbers: business/README.md).
 *
 * A call waits for the end of the current event-loop turn, then leaves with every call queued
 * by then (at most callsMax in one batch). At most batchesInFlightMax batches are out at once;
 * calls that come meanwhile wait for one to come back, so under load the batches grow instead
 * of the requests. A call alone in its turn goes as its own operation (with a Lock's waitMs):
 * an idle bank sends exactly what it sent before batching.
 *
 * A batch waits for its slowest call's deadline (each call's timeout is the nearer of the call
 * timeout and its request's deadline; a batch's is the longest of its calls', never above the
 * call timeout). A transport failure fails every call of the batch, as it would have failed
 * each of them alone; the caller (data-client.ts) retries or fails over per call.
 */
export interface DataBatcherOptions {
  /** Calls in one batch, at most (data.wsdl allows DATA_BATCH_CALLS_MAX). */
  readonly callsMax: number;
  readonly batchesInFlightMax: number;
  readonly envelopes: DataEnvelopes;
  /** POSTs one envelope to this batcher's data server. */
  readonly post: (
    operation: DataOperation | 'Batch',
    xml: string,
    timeoutMs: number,
    traceparent: string | undefined,
  ) => Promise<{ status: number; text: string }>;
}

export interface BatcherCall {
  readonly call: BatchCallXml;
  /** The whole envelope of the call as its own operation, used when it goes alone. */
  readonly alone: string;
  readonly timeoutMs: number;
}

/** What became of a call: its own answer (it went alone), or its part of a batch's answer. */
export type BatchedReply =
  | { readonly kind: 'alone'; readonly status: number; readonly text: string }
  | { readonly kind: 'answer'; readonly element: XmlElement }
  | { readonly kind: 'fault'; readonly fault: DataFaultDetail }
  | { readonly kind: 'broken'; readonly status: number; readonly reason: string };

interface Queued {
  readonly call: BatcherCall;
  readonly resolve: (reply: BatchedReply) => void;
  readonly reject: (error: unknown) => void;
}

export class DataBatcher {
  private readonly queue: Queued[] = [];
  private batchesInFlight = 0;
  private flushScheduled = false;

  constructor(private readonly options: DataBatcherOptions) {}

  /** Resolves with the call's reply; rejects only when nothing came back (the transport's error). */
  call(call: BatcherCall): Promise<BatchedReply> {
    return new Promise((resolve, reject) => {
      this.queue.push({ call, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.queue.length === 0) return;
    if (this.batchesInFlight >= this.options.batchesInFlightMax) return;
    this.flushScheduled = true;
    // setImmediate: after the I/O of this turn, so every call it started rides along.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.batchesInFlight < this.options.batchesInFlightMax && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.callsMax);
      this.batchesInFlight++;
      void this.send(batch).finally(() => {
        this.batchesInFlight--;
        this.scheduleFlush();
      });
    }
  }

  private async send(batch: readonly Queued[]): Promise<void> {
    const first = itemAt(batch, 0);
    if (batch.length === 1) {
      const { call } = first.call;
      await this.options
        .post(call.operation, first.call.alone, first.call.timeoutMs, call.traceparent)
        .then((r) => first.resolve({ kind: 'alone', ...r }), first.reject);
      return;
    }
    const xml = this.options.envelopes.batch(batch.map((q) => q.call.call));
    const timeoutMs = Math.max(...batch.map((q) => q.call.timeoutMs));
    let response: { status: number; text: string };
    try {
      response = await this.options.post('Batch', xml, timeoutMs, undefined);
    } catch (error) {
      for (const q of batch) q.reject(error);
      return;
    }
    const replies = repliesOf(
      response,
      batch.map((q) => BATCH_ELEMENTS[q.call.call.operation]),
    );
    batch.forEach((q, i) => q.resolve(itemAt(replies, i)));
  }
}

/** A batch's answer split per call; an answer that is not a BatchResponse is every call's. */
function repliesOf(response: { status: number; text: string }, callElements: readonly string[]): BatchedReply[] {
  const all = (reply: BatchedReply): BatchedReply[] => callElements.map(() => reply);
  const { status, text } = response;
  try {
    const parsed = parseEnvelope(text, 'Batch');
    switch (parsed.kind) {
      case 'fault':
        return all({ kind: 'fault', fault: parsed.fault });
      case 'soap-fault-without-detail':
        return all({ kind: 'broken', status, reason: `fault without DataFault: ${parsed.faultstring}` });
      case 'body':
        if (status !== 200) return all({ kind: 'broken', status, reason: 'a normal body with an error status' });
        return readBatchResponse(parsed.element, callElements);
    }
  } catch (error) {
    if (error instanceof BadDataResponse || error instanceof XmlSyntaxError)
      return all({ kind: 'broken', status, reason: error.message });
    throw error;
  }
}
