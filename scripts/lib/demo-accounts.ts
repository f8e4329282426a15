import { randomBytes } from 'node:crypto';
import { BankWire, leafText } from './bank-wire';
import { DemoClient, DemoCredentials } from './cluster-credentials';

/**
 * The demo clients' accounts, made through the bank service itself (OpenAccount with an
 * opening deposit), like any client would. Accounts from an earlier start are kept when the
 * bank still knows them; a client whose accounts are gone (fresh database) gets a new one.
 */
const CALL_TIMEOUT_MS = 10_000;
const OPEN_ATTEMPTS_MAX = 5;
const RETRY_PAUSE_MS = 500;

async function stillThere(wire: BankWire, client: DemoClient): Promise<boolean> {
  if (client.accounts.length === 0) return false;
  for (const accountId of client.accounts) {
    const r = await wire.call('GetBalance', [['accountId', accountId]], client);
    if (r.httpStatus !== 200) return false;
  }
  return true;
}

async function openAccount(wire: BankWire, clientId: string, authToken: string, deposit: string): Promise<string> {
  // One request-id for all attempts: a retry after a timeout cannot open a second account.
  const requestId = `demo-open-${randomBytes(8).toString('hex')}`;
  let lastError = '';
  for (let attempt = 1; attempt <= OPEN_ATTEMPTS_MAX; attempt++) {
    try {
      const r = await wire.call('OpenAccount', [['initialDeposit', deposit]], { clientId, authToken }, requestId);
      const accountId = leafText(r.raw, 'accountId');
      if (r.httpStatus === 200 && accountId !== undefined) return accountId;
      lastError = `HTTP ${r.httpStatus} ${r.faultCode ?? ''} ${leafText(r.raw, 'message') ?? ''}`;
      if (r.faultCode !== 'SERVICE_UNAVAILABLE' && r.faultCode !== 'ACCOUNT_LOCKED') break;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
  }
  throw new Error(`could not open a demo account for ${clientId}: ${lastError}`);
}

export async function ensureDemoAccounts(
  url: string,
  tokens: ReadonlyMap<string, string>,
  previous: DemoCredentials | undefined,
  deposit: string,
): Promise<DemoCredentials> {
  const wire = new BankWire(url, { socketsMax: 4, timeoutMs: CALL_TIMEOUT_MS });
  try {
    const clients: DemoClient[] = [];
    for (const [clientId, authToken] of tokens) {
      const before = previous?.clients.find((c) => c.clientId === clientId);
      if (before !== undefined && before.authToken === authToken && (await stillThere(wire, before))) {
        clients.push(before);
        continue;
      }
      clients.push({ clientId, authToken, accounts: [await openAccount(wire, clientId, authToken, deposit)] });
    }
    return { url, clients };
  } finally {
    wire.close();
  }
}
