import { PG_BATCH_DEFAULTS } from './config';
import { intSetting, optionalStringSetting, withFlags } from '../common/settings';

/**
 * The settings shared by the data tier's two throughput probes (bench-data.ts over SOAP,
 * bench-store.ts in process), parsed once from flags and environment.
 */
const env = withFlags(process.env, process.argv.slice(2), {
  seconds: 'BENCH_SECONDS',
  concurrency: 'BENCH_CONCURRENCY',
  accounts: 'BENCH_ACCOUNTS',
  'group-commit-max': 'BANK_GROUP_COMMIT_ITEMS_MAX',
  'database-url': 'DATABASE_URL',
  'pg-batch-items-max': 'BANK_PG_BATCH_ITEMS_MAX',
  'pg-batches-in-flight-max': 'BANK_PG_BATCHES_IN_FLIGHT_MAX',
});

export const BENCH_SETTINGS = Object.freeze({
  seconds: intSetting(env, 'BENCH_SECONDS', 5, 1, 600),
  concurrency: intSetting(env, 'BENCH_CONCURRENCY', 64, 1, 1024),
  accounts: intSetting(env, 'BENCH_ACCOUNTS', 2000, 2, 1_000_000),
  groupCommitMax: intSetting(env, 'BANK_GROUP_COMMIT_ITEMS_MAX', 512, 1, 10_000),
  databaseUrl: optionalStringSetting(env, 'DATABASE_URL'),
  pgBatchItemsMax: intSetting(env, 'BANK_PG_BATCH_ITEMS_MAX', PG_BATCH_DEFAULTS.itemsMax, 1, 1_000),
  pgBatchesInFlightMax: intSetting(env, 'BANK_PG_BATCHES_IN_FLIGHT_MAX', PG_BATCH_DEFAULTS.inFlightMax, 1, 100),
});
