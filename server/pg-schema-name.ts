import { Client } from 'pg';

/**
 * The names a PostgreSQL schema of ours may have. Only these are accepted, so a name can be
 * written into SQL as it is (no quoting) and always means the same, lower-case, schema.
 */
export const PG_SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Drops a schema and everything in it (a test's or a bench run's own), on a connection of its
 * own. The name is checked first: it is written into the statement as it is.
 */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  if (!PG_SCHEMA_PATTERN.test(schema))
    throw new Error(`schema must match ${String(PG_SCHEMA_PATTERN)}, got ${JSON.stringify(schema)}`);
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
