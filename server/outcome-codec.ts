import { asCents } from '../common/money';
import { AccountRow, RecordedOutcome } from './store';

/**
 * The idempotency record's outcome as JSON text (both stores). Decoding re-checks every field:
 * the record decides what a replay returns, so a damaged one must fail loudly, not pay out.
 */
export function encodeOutcome(outcome: RecordedOutcome): string {
  return JSON.stringify(outcome);
}

function fail(text: string): never {
  throw new Error(`idempotency outcome is damaged: ${text.slice(0, 200)}`);
}

export function decodeOutcome(text: string): RecordedOutcome {
  const value = JSON.parse(text) as Record<string, unknown>;
  switch (value.status) {
    case 'applied': {
      if (!Array.isArray(value.accounts)) fail(text);
      const accounts = (value.accounts as Array<Record<string, unknown>>).map((a): AccountRow => {
        if (
          typeof a.accountId !== 'number' ||
          typeof a.ownerId !== 'string' ||
          typeof a.balanceCents !== 'number' ||
          typeof a.version !== 'number'
        )
          fail(text);
        return {
          accountId: a.accountId,
          ownerId: a.ownerId,
          balanceCents: asCents(a.balanceCents),
          version: a.version,
        };
      });
      return { status: 'applied', accounts };
    }
    case 'refused': {
      if ((value.code !== 'INSUFFICIENT_FUNDS' && value.code !== 'INVALID_AMOUNT') || typeof value.message !== 'string')
        fail(text);
      return {
        status: 'refused',
        code: value.code,
        message: value.message,
        ...(typeof value.accountId === 'string' ? { accountId: value.accountId } : {}),
      };
    }
    case 'created':
      if (typeof value.accountId !== 'number' || typeof value.balanceCents !== 'number') fail(text);
      return { status: 'created', accountId: value.accountId, balanceCents: asCents(value.balanceCents) };
    default:
      return fail(text);
  }
}
