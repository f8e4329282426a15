import { ensureAdminCredentials } from '../../scripts/lib/cluster-credentials';

/**
 * The operator's admin token for tests: written into a test's directory as `npm start` does
 * (admin-credentials.json + admin-hash.json), with the env that gives a server its hash.
 */
export interface TestAdmin {
  readonly token: string;
  readonly env: Readonly<Record<string, string>>;
}

export function testAdmin(dir: string): TestAdmin {
  const admin = ensureAdminCredentials(dir);
  return { token: admin.token, env: { BANK_ADMIN_CREDENTIALS_FILE: admin.hashFile } };
}

/** GET /health as the admin: the details. */
export async function healthDetails<T = Record<string, unknown>>(baseUrl: string, token: string): Promise<T> {
  const res = await fetch(new URL('/health', baseUrl), { headers: { authorization: `Bearer ${token}` } });
  return (await res.json()) as T;
}
