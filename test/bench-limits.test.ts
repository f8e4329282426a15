import { expect } from 'chai';
import { AccountQueue, QueueCaller } from '../business/account-queue';
import { loadBusinessConfig } from '../business/config';
import { benchBusinessLimits } from '../scripts/lib/bench-limits';

/** The account queue of a business server started with the bench's settings for `clients`. */
function benchQueue(clients: number): AccountQueue {
  const config = loadBusinessConfig({ BANK_BUSINESS_TOKEN: 't', ...benchBusinessLimits(clients) }, []);
  return new AccountQueue({
    lengthMax: config.accountQueueLengthMax,
    perClientMax: config.accountQueuePerClientMax,
    waitMs: config.accountQueueWaitMs,
  });
}

/** Every caller enters account 7 at once and holds it until released; how each request ended. */
async function queueAll(queue: AccountQueue, callers: readonly QueueCaller[]): Promise<string[]> {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const ends = callers.map((caller) =>
    queue
      .run(['7'], caller, () => held)
      .then(
        () => 'done',
        (error: unknown) => String((error as { code?: string }).code ?? error),
      ),
  );
  await new Promise((resolve) => setImmediate(resolve));
  const queued = queue.lengthOf('7');
  release();
  return [`queued ${queued}`, ...(await Promise.all(ends))];
}

/**
 * The bench's business servers must not refuse the bench's own load: every client may have a
 * transfer on the same hot account, as its owner or not, and none is refused.
 */
describe('bench limits', () => {
  for (const clients of [1, 32, 500]) {
    it(`${clients} clients, none owning the account, all queue on one account at once`, async () => {
      const callers = Array.from({ length: clients }, (_v, i) => ({ clientId: `c${i}`, owns: () => false }));
      const ends = await queueAll(benchQueue(clients), callers);
      expect(ends).to.deep.equal([`queued ${clients}`, ...callers.map(() => 'done')]);
    });

    it(`${clients} requests of the owner and ${clients} of one other client queue on one account at once`, async () => {
      const callers = [
        ...Array.from({ length: clients }, () => ({ clientId: 'owner', owns: () => true })),
        ...Array.from({ length: clients }, () => ({ clientId: 'other', owns: () => false })),
      ];
      const ends = await queueAll(benchQueue(clients), callers);
      expect(ends).to.deep.equal([`queued ${2 * clients}`, ...callers.map(() => 'done')]);
    });
  }
});
