import { CredentialStore } from './credentials';
import { Env, optionalStringSetting } from './settings';

/**
 * The operator's admin token, checked by every process (balancer, business, data server,
 * console) for what only an operator may see: /health details, /metrics, the console.
 * Callers send `Authorization: Bearer <admin token>`; the servers keep only its SHA-256, in a
 * credentials file of the usual format (common/credentials.ts) with the one principal `admin`:
 * `{"principals": [{"id": "admin", "tokenSha256": "<64 hex>"}]}`. `npm start` writes it as
 * `${BANK_DATA_DIR}/admin-hash.json` and the plaintext token, for the operator, as
 * `${BANK_DATA_DIR}/admin-credentials.json` (`{"adminToken": "…"}`, mode 0600).
 * Without a file nobody is admin: the details stay private rather than open.
 */
export const ADMIN_PRINCIPAL_ID = 'admin';
export const ADMIN_CREDENTIALS_ENV = 'BANK_ADMIN_CREDENTIALS_FILE';
/** The flag every process accepts for it (folded into the env by common/settings.ts). */
export const ADMIN_CREDENTIALS_FLAG = 'admin-credentials';

export interface AdminAuth {
  /** True only for `Bearer <the admin token>`. Never throws; constant-time over the hashes. */
  allows(authorization: string | string[] | undefined): boolean;
  /** False when no admin credentials file was configured. */
  readonly configured: boolean;
}

const BEARER = /^Bearer[ ]+([^ ]+)[ ]*$/i;

/** Nobody is admin: what a process without admin credentials uses. */
export const NO_ADMIN: AdminAuth = Object.freeze({ allows: () => false, configured: false });

export function adminAuth(store: CredentialStore | undefined): AdminAuth {
  if (store === undefined) return NO_ADMIN;
  return Object.freeze({
    configured: true,
    allows(authorization: string | string[] | undefined): boolean {
      if (typeof authorization !== 'string') return false;
      const match = BEARER.exec(authorization);
      return match !== null && store.verify(ADMIN_PRINCIPAL_ID, match[1]);
    },
  });
}

/** The admin credentials file named by the config, read once at start (a bad file is fatal). */
export function loadAdminAuth(path: string | undefined): AdminAuth {
  if (path === undefined) return NO_ADMIN;
  const store = CredentialStore.fromFile(path);
  if (!store.has(ADMIN_PRINCIPAL_ID)) throw new Error(`${path}: no principal "${ADMIN_PRINCIPAL_ID}"`);
  return adminAuth(store);
}

/** The setting as each tier's config module parses it: a path, or undefined. */
export function adminCredentialsSetting(env: Env): string | undefined {
  return optionalStringSetting(env, ADMIN_CREDENTIALS_ENV);
}
