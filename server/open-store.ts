import { DataConfig } from './config';
import { SqliteStore } from './sqlite-store';
import { Store } from './store';

/** SQLite under dataDir by default; PostgreSQL when DATABASE_URL is set. */
export async function openStore(config: DataConfig): Promise<Store> {
  if (config.databaseUrl !== undefined) {
    const { PostgresStore } = await import('./postgres-store');
    return PostgresStore.open(config.databaseUrl, config.pgSchema, {
      poolSize: config.pgPoolSize,
      batch: {
        itemsMax: config.pgBatchItemsMax,
        inFlightMax: config.pgBatchesInFlightMax,
        queuedMax: config.groupCommitQueuedMax,
      },
    });
  }
  return new SqliteStore(config.sqliteFilePath, config.groupCommitItemsMax, config.groupCommitQueuedMax);
}
