import { join } from 'node:path';
import { loadAdminAuth } from '../common/admin-auth';
import { CredentialStore } from '../common/credentials';
import { createLogger } from '../common/logger';
import { announceReady } from '../common/ready';
import { startSoapServer } from '../common/soap-host';
import { loadDataConfig } from './config';
import { DataService } from './data-service';
import { openStore } from './open-store';

/**
 * The data server: `node dist/server/main.js [--port 8090] [--data-dir var] [--database-url …]`.
 * Prints one ready line on stdout once it listens; logs on stderr; SIGTERM/SIGINT close the
 * listener (in-flight requests finish) and then the store.
 */
const DATA_NAMESPACE = 'urn:distbank:data:v1';
const WSDL_PATH = join(__dirname, '..', '..', 'wsdl', 'data.wsdl');

async function main(): Promise<void> {
  const config = loadDataConfig(process.env, process.argv.slice(2));
  const logger = createLogger({ service: 'data', level: config.logLevel, jsonFilePath: config.logFilePath });
  const credentials = CredentialStore.fromFile(config.credentialsFilePath);
  const admin = loadAdminAuth(config.adminCredentialsFilePath);
  const store = await openStore(config);
  const service = new DataService(store, config);
  const server = await startSoapServer({
    service: 'data',
    wsdlPath: WSDL_PATH,
    path: '/data',
    namespace: DATA_NAMESPACE,
    faultElement: 'DataFault',
    principalHeader: 'business-id',
    credentials,
    operations: service.operations(),
    bodyBytesMax: config.bodyBytesMax,
    logger,
    admin,
    health: async () => ({ status: 'ok', details: { ...(await store.health()), lockWaiters: service.waiters.count() } }),
  }, config.host, config.port);
  logger.info('listening', { url: server.url, store: store.kind });
  announceReady('data', server.url);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    server.close()
      .then(() => store.close())
      .then(() => process.exit(0), (error: unknown) => {
        logger.error('stop failed', { error: String(error) });
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`data server failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
