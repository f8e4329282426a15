import { CredentialStore } from './credentials';
import { Logger } from './logger';
import { ReloadingFile } from './reloading-file';

/**
 * Credentials (hashed tokens) read from a JSON file and re-read when it changes
 * (common/reloading-file.ts), so that clients (business servers) and business servers (data
 * server) can be added, rotated and removed without a restart (`npm run admin`, which replaces
 * the file atomically). A file that fails to parse keeps the previous credentials in force.
 * At start a bad file is fatal: better to refuse to start than to refuse every client.
 */
export class ReloadingCredentials {
  private readonly file: ReloadingFile<CredentialStore>;

  constructor(
    path: string,
    reloadMs: number,
    logger: Logger,
    /** For the log lines: 'client' or 'business'. */ label = 'client',
  ) {
    this.file = new ReloadingFile(path, reloadMs, (p) => CredentialStore.fromFile(p), logger, `${label} credentials`);
  }

  verify(id: string | undefined, token: string | undefined): boolean {
    return this.file.current().verify(id, token);
  }
}
