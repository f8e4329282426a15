/**
 * accountId → ownerId, bounded. An account's owner never changes, so an entry never goes stale;
 * the bound only limits memory (least recently used entries are dropped first, using Map's
 * insertion order: a hit is re-inserted at the end).
 */
export class OwnerCache {
  private readonly owners = new Map<string, string>();

  constructor(private readonly entriesMax: number) {
    if (!Number.isSafeInteger(entriesMax) || entriesMax < 1) throw new Error('entriesMax must be ≥ 1');
  }

  get(accountId: string): string | undefined {
    const owner = this.owners.get(accountId);
    if (owner !== undefined) {
      this.owners.delete(accountId);
      this.owners.set(accountId, owner);
    }
    return owner;
  }

  set(accountId: string, ownerId: string): void {
    this.owners.delete(accountId);
    this.owners.set(accountId, ownerId);
    if (this.owners.size > this.entriesMax) {
      const oldest = this.owners.keys().next();
      if (!oldest.done) this.owners.delete(oldest.value);
    }
  }

  get size(): number {
    return this.owners.size;
  }
}
