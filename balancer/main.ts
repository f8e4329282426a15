import { checkLogFile, runMain } from '../common/cli-main';
import { createLogger } from '../common/logger';
import { announceReady } from '../common/ready';
import { BALANCER_FLAGS, loadBalancerConfig } from './config';
import { startBalancer } from './server';

/**
 * `node dist/balancer/main.js [--port 8080] [--business-urls http://…/bank,…]`: the load
 * balancer in front of the business servers. Prints the ready line once it listens; SIGTERM or
 * SIGINT closes it (in-flight requests get a short grace period) and exits 0.
 */
const USAGE = {
  command: 'node dist/balancer/main.js',
  summary: 'The load balancer: POST /bank to the least-busy healthy business server, GET /bank?wsdl, GET /health.',
  flags: BALANCER_FLAGS,
  more: 'Limits and other settings (env only): see balancer/README.md.',
};

async function main(): Promise<void> {
  const config = loadBalancerConfig(process.env, process.argv.slice(2));
  checkLogFile(config.logFile);
  const logger = createLogger({ service: 'balancer', level: config.logLevel, jsonFilePath: config.logFile });
  const balancer = await startBalancer(config, logger);
  logger.info('balancer listening', {
    url: balancer.url,
    public_url: balancer.publicUrl,
    backends: config.backendUrls.join(','),
  });
  announceReady('balancer', balancer.url);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('balancer stopping', { signal });
    balancer.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

runMain('balancer', USAGE, process.argv.slice(2), main);
