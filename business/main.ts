import { checkLogFile, runMain } from '../common/cli-main';
import { createLogger } from '../common/logger';
import { announceReady } from '../common/ready';
import { startBankServer } from './bank-service';
import { BUSINESS_FLAGS, loadBusinessConfig } from './config';

/**
 * Entry point of one business server: `node dist/business/main.js [--port 8081] [--business-id b1] …`
 * (env: BANK_BUSINESS_TOKEN, BANK_DATA_URL, BANK_CLIENT_CREDENTIALS_FILE, see business/config.ts).
 * Prints the ready line on stdout once listening; SIGTERM/SIGINT drain requests and exit 0.
 */
const USAGE = {
  command: 'node dist/business/main.js',
  summary:
    'A business server: wsdl/bank.wsdl at /bank for clients, on the data tier. BANK_BUSINESS_TOKEN (env only) is its secret towards the data tier.',
  flags: BUSINESS_FLAGS,
  more: 'Limits and other settings (env only): see business/README.md.',
};

async function main(): Promise<void> {
  const config = loadBusinessConfig(process.env, process.argv.slice(2));
  checkLogFile(config.logFile);
  const logger = createLogger({
    service: `bank-${config.businessId}`,
    level: config.logLevel,
    jsonFilePath: config.logFile,
  });
  const server = await startBankServer(config, logger);
  logger.info('business server listening', { url: server.url, data_urls: config.dataUrls.join(',') });
  announceReady('bank', server.url);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    server.close(config.shutdownDrainMs).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('error while stopping', { error: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

runMain('business server', USAGE, process.argv.slice(2), main);
