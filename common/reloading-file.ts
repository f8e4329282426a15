import { statSync } from 'node:fs';
import { Logger } from './logger';

/**
 * A value read from a file and re-read when the file's inode, times (ns) or size change,
 * checked at most every `reloadMs` when asked for, so that what the file says (credentials,
 * fault rules) changes without a restart. At start a bad file throws (refuse to start rather
 * than run on nothing); later, a file that fails to parse (say, caught half written) keeps the
 * previous value in force, is logged, and is tried again on the next check.
 * The check is a synchronous stat() at most every reloadMs: microseconds, off the common path.
 */
export class ReloadingFile<T> {
  private value: T;
  private stamp: string;
  private checkedAtMs: number;

  constructor(
    private readonly path: string,
    private readonly reloadMs: number,
    private readonly read: (path: string) => T,
    private readonly logger: Logger,
    /** For the log lines: 'client credentials', 'fault rules', … */
    private readonly label: string,
    /** Log level of a refused reload: 'error' when running on the old value matters loudly. */
    private readonly refusedLevel: 'warn' | 'error' = 'warn',
  ) {
    this.stamp = this.readStamp();
    this.value = read(path);
    this.checkedAtMs = Date.now();
  }

  /** The value now, re-read first if the file changed and reloadMs has passed since the last check. */
  current(): T {
    this.maybeReload();
    return this.value;
  }

  /** Replaces the value until the file next changes (the admin service's SetFaultRules). */
  override(value: T): void {
    this.value = value;
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
      this.value = this.read(this.path);
      this.stamp = stamp;
      this.logger.info(`${this.label} reloaded`, { path: this.path });
    } catch (error) {
      // The stamp stays the old one: the file is tried (and the refusal logged) again next check.
      this.logger.log(this.refusedLevel, `${this.label} not reloaded; keeping the previous ones`, {
        path: this.path,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
