import { statSync } from 'node:fs';
import { CredentialStore } from './credentials';
import { Logger } from './logger';

/**
 * Credentials (hashed tokens) read from a JSON file and re-read when the file's inode, times
 * (ns) or size change, checked at most every `reloadMs`, so that clients (business servers) and
 * business servers (data server) can be added, rotated and removed without a restart
 * (`npm run admin`, which replaces the file atomically). A file that fails to parse (say, caught half
 * written) keeps the previous credentials in force and is tried again on the next check.
 * The check is a synchronous stat() at most every reloadMs: microseconds, off the common path.
 */
export class ReloadingCredentials {
  private store: CredentialStore;
  private stamp: string;
  private checkedAtMs: number;

  constructor(
    private readonly path: string,
    private readonly reloadMs: number,
    private readonly logger: Logger,
    /** For the log lines: 'client' or 'business'. */
    private readonly label = 'client',
  ) {
    // At start a bad file is fatal: better to refuse to start than to refuse every client.
    this.stamp = this.readStamp();
    this.store = CredentialStore.fromFile(path);
    this.checkedAtMs = Date.now();
  }

  verify(id: string | undefined, token: string | undefined): boolean {
    this.maybeReload();
    return this.store.verify(id, token);
  }

  private readStamp(): string {
    // Nanosecond times, inode and size: a rewrite of the same size in the same millisecond, or
    // an atomic rename over the file, still shows as a change (a revoked token must not linger).
    const stat = statSync(this.path, { bigint: true });
    return `${stat.ino}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.size}`;
  }

  private maybeReload(): void {
    const nowMs = Date.now();
    if (nowMs - this.checkedAtMs < this.reloadMs) return;
    this.checkedAtMs = nowMs;
    try {
      const stamp = this.readStamp();
      if (stamp === this.stamp) return;
      this.store = CredentialStore.fromFile(this.path);
      this.stamp = stamp;
      this.logger.info(`${this.label} credentials reloaded`, { path: this.path });
    } catch (error) {
      this.logger.warn(`${this.label} credentials not reloaded; keeping the previous ones`, {
        path: this.path, error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
