import { finalOutcome, History, OpRecord } from './history';
import { Ledger, LedgerAccount, LedgerEntry } from './ledger';
import { defined } from '../../common/defined';

/**
 * The chaos run's checker: a pure function of the history and the ledger read after recovery.
 * Its verdict names every anomaly it finds, so a planted one is reported as exactly that
 * (test/chaos-checker.test.ts plants each kind in a copy of a real run).
 *
 * What it checks (each a kind of anomaly):
 * - statement-chain: an account's entries do not add up (each balanceAfter = previous + amount,
 *   the last = the balance); a cent made or lost without an entry shows here.
 * - negative-balance: a balance or a balanceAfter below zero.
 * - money-not-conserved: the sum of balances differs from the openings plus the deposits minus
 *   the withdrawals that the history says were applied.
 * - phantom-entry: a journal entry no request of the run accounts for (money from nowhere).
 * - lost-acknowledgement: a request acknowledged ok whose transaction id is not in the journal.
 * - duplicate: a transaction id applied more than once (two entries on one account for one id).
 * - half-transfer: a transfer with only one of its two legs, or legs that disagree.
 * - wrong-content: an entry whose account, kind or amount differs from what the request asked.
 * - applied-after-failure: a request that got a definite fault, yet its money moved.
 * - unresolved: an indeterminate request whose replay did not settle it (reported, and the run
 *   is not valid: the checker could not prove exactly-once for it).
 * - incomplete-statement: a statement too long to read whole (the checker cannot judge it).
 */
export type AnomalyKind =
  | 'statement-chain'
  | 'negative-balance'
  | 'money-not-conserved'
  | 'phantom-entry'
  | 'lost-acknowledgement'
  | 'duplicate'
  | 'half-transfer'
  | 'wrong-content'
  | 'applied-after-failure'
  | 'unresolved'
  | 'incomplete-statement';

export interface Anomaly {
  readonly kind: AnomalyKind;
  readonly accountId?: string;
  readonly transactionId?: string;
  readonly requestId?: string;
  readonly detail: string;
}

export interface Verdict {
  readonly valid: boolean;
  readonly anomalies: readonly Anomaly[];
  readonly counts: {
    readonly ops: number;
    readonly ok: number;
    readonly failed: number;
    readonly indeterminate: number;
    readonly indeterminateApplied: number;
    readonly indeterminateNotApplied: number;
    readonly unresolved: number;
    readonly doubleApplies: number;
  };
  /** Sum of balances minus what it should be, in cents (0 when conserved). */
  readonly moneyDeltaCents: number;
}

interface LedgerPosting {
  readonly account: LedgerAccount;
  readonly entry: LedgerEntry;
}

function postingsByTransaction(ledger: Ledger): Map<string, LedgerPosting[]> {
  const byId = new Map<string, LedgerPosting[]>();
  for (const account of ledger.accounts) {
    for (const entry of account.entries) {
      if (entry.kind === 'OPENING') continue;
      const list = byId.get(entry.transactionId) ?? [];
      list.push({ account, entry });
      byId.set(entry.transactionId, list);
    }
  }
  return byId;
}

function checkAccount(account: LedgerAccount, anomalies: Anomaly[]): void {
  const accountId = account.accountId;
  if (!account.complete) {
    anomalies.push({
      kind: 'incomplete-statement',
      accountId,
      detail: 'statement longer than the reader reads (STATEMENT_ENTRIES_MAX)',
    });
    return;
  }
  let running = 0;
  for (const e of account.entries) {
    running += e.amountCents;
    if (running !== e.balanceAfterCents) {
      anomalies.push({
        kind: 'statement-chain',
        accountId,
        transactionId: e.transactionId,
        detail: `balanceAfter ${e.balanceAfterCents} but the entries add up to ${running}`,
      });
      running = e.balanceAfterCents;
    }
    if (e.balanceAfterCents < 0)
      anomalies.push({
        kind: 'negative-balance',
        accountId,
        transactionId: e.transactionId,
        detail: `balanceAfter ${e.balanceAfterCents}`,
      });
  }
  if (running !== account.balanceCents) {
    anomalies.push({
      kind: 'statement-chain',
      accountId,
      detail: `balance ${account.balanceCents} but the entries add up to ${running}`,
    });
  }
  if (account.balanceCents < 0)
    anomalies.push({ kind: 'negative-balance', accountId, detail: `balance ${account.balanceCents}` });
}

/** The legs a request should have written: [account, kind, signed amount]. */
function expectedLegs(op: OpRecord): readonly (readonly [string, string, number])[] {
  switch (op.op) {
    case 'transfer':
      return [
        [defined(op.from, 'the account a transfer debits'), 'TRANSFER_OUT', -op.amountCents],
        [defined(op.to, 'the account a transfer credits'), 'TRANSFER_IN', op.amountCents],
      ];
    case 'withdraw':
      return [[defined(op.from, 'the account of a withdrawal'), 'WITHDRAWAL', -op.amountCents]];
    case 'deposit':
      return [[defined(op.to, 'the account of a deposit'), 'DEPOSIT', op.amountCents]];
  }
}

/** Compares what the journal holds for one request with what it asked; returns whether it applied. */
function checkOpPostings(
  op: OpRecord,
  postings: readonly LedgerPosting[],
  anomalies: Anomaly[],
): { applied: boolean; doubled: boolean } {
  const ids = { transactionId: op.transactionId, requestId: op.requestId };
  if (postings.length === 0) return { applied: false, doubled: false };
  const legs = expectedLegs(op);
  let doubled = false;
  const perAccount = new Map<string, number>();
  for (const p of postings) perAccount.set(p.account.accountId, (perAccount.get(p.account.accountId) ?? 0) + 1);
  for (const [accountId, n] of perAccount) {
    if (n > 1) {
      doubled = true;
      anomalies.push({ kind: 'duplicate', accountId, ...ids, detail: `${n} entries for one transaction id` });
    }
  }
  const seen = new Set<string>();
  for (const [accountId, kind, amount] of legs) {
    const p = postings.find((x) => x.account.accountId === accountId);
    if (p === undefined) continue;
    seen.add(accountId);
    if (p.entry.kind !== kind || p.entry.amountCents !== amount) {
      anomalies.push({
        kind: 'wrong-content',
        accountId,
        ...ids,
        detail: `entry ${p.entry.kind} ${p.entry.amountCents}, request asked ${kind} ${amount}`,
      });
    }
  }
  for (const p of postings) {
    if (!legs.some(([a]) => a === p.account.accountId)) {
      anomalies.push({
        kind: 'wrong-content',
        accountId: p.account.accountId,
        ...ids,
        detail: `entry on an account the request did not name`,
      });
    }
  }
  if (seen.size !== legs.length) {
    const missing = legs
      .filter(([a]) => !seen.has(a))
      .map(([a]) => a)
      .join(', ');
    anomalies.push({ kind: 'half-transfer', ...ids, detail: `no entry on ${missing}` });
  }
  return { applied: true, doubled };
}

/** The net money a request adds to the system when applied (transfers move, they do not add). */
function netCents(op: OpRecord): number {
  return op.op === 'deposit' ? op.amountCents : op.op === 'withdraw' ? -op.amountCents : 0;
}

type Counts = { -readonly [K in keyof Verdict['counts']]: Verdict['counts'][K] };

export function check(history: History, ledger: Ledger): Verdict {
  const anomalies: Anomaly[] = [];
  for (const account of ledger.accounts) checkAccount(account, anomalies);
  const postings = postingsByTransaction(ledger);
  const known = new Set<string>();
  const counts: Counts = {
    ops: history.ops.length,
    ok: 0,
    failed: 0,
    indeterminate: 0,
    indeterminateApplied: 0,
    indeterminateNotApplied: 0,
    unresolved: 0,
    doubleApplies: 0,
  };
  let expectedCents = ledger.accounts.reduce((s, a) => s + a.openingCents, 0);
  for (const op of history.ops) {
    known.add(op.transactionId);
    if (checkOp(op, postings.get(op.transactionId) ?? [], anomalies, counts)) expectedCents += netCents(op);
  }
  phantomEntries(postings, known, anomalies);
  const totalCents = ledger.accounts.reduce((s, a) => s + a.balanceCents, 0);
  const moneyDeltaCents = totalCents - expectedCents;
  if (moneyDeltaCents !== 0)
    anomalies.push({
      kind: 'money-not-conserved',
      detail: `sum of balances ${totalCents}, expected ${expectedCents} (delta ${moneyDeltaCents})`,
    });
  return { valid: anomalies.length === 0, anomalies, counts, moneyDeltaCents };
}

/** One request of the history against its postings: counted, its anomalies added; true when applied. */
function checkOp(op: OpRecord, postings: readonly LedgerPosting[], anomalies: Anomaly[], counts: Counts): boolean {
  const ids = { transactionId: op.transactionId, requestId: op.requestId };
  const { applied, doubled } = checkOpPostings(op, postings, anomalies);
  if (doubled) counts.doubleApplies++;
  const outcome = finalOutcome(op);
  if (op.outcome.kind === 'indeterminate') {
    counts.indeterminate++;
    if (outcome.kind === 'indeterminate') counts.unresolved++;
    else if (applied) counts.indeterminateApplied++;
    else counts.indeterminateNotApplied++;
  }
  if (outcome.kind === 'ok') {
    if (op.outcome.kind === 'ok') counts.ok++;
    if (!applied)
      anomalies.push({ kind: 'lost-acknowledgement', ...ids, detail: 'acknowledged ok, not in the journal' });
    if (outcome.transactionId !== op.transactionId)
      anomalies.push({
        kind: 'wrong-content',
        ...ids,
        detail: `acknowledged with transaction id ${outcome.transactionId}`,
      });
  } else if (outcome.kind === 'fail') {
    if (op.outcome.kind === 'fail') counts.failed++;
    if (applied)
      anomalies.push({
        kind: 'applied-after-failure',
        ...ids,
        detail: `definite fault ${outcome.code}, yet applied`,
      });
  } else {
    anomalies.push({ kind: 'unresolved', ...ids, detail: 'indeterminate, and its replay did not settle it' });
  }
  return applied;
}

/** Journal entries that no request of the run made. */
function phantomEntries(
  postings: ReadonlyMap<string, readonly LedgerPosting[]>,
  known: ReadonlySet<string>,
  anomalies: Anomaly[],
): void {
  for (const [transactionId, list] of postings) {
    if (known.has(transactionId)) continue;
    for (const p of list)
      anomalies.push({
        kind: 'phantom-entry',
        accountId: p.account.accountId,
        transactionId,
        detail: `${p.entry.kind} ${p.entry.amountCents} that no request of the run made`,
      });
  }
}
