import { createLogger } from '../common/logger';
import { announceReady } from '../common/ready';
import { loadBalancerConfig } from './config';
import { startBalancer } from './server';

/**
 * `node dist/balancer/main.js [--port 8080] [--business-urls http://…/bank,…]`: the load
 * balancer in front of the business servers. Prints the ready line once it listens; SIGTERM or
 * SIGINT closes it (in-flight requests get a short grace period) and exits 0.
 */
async function main(): Promise<void> {
  const config = loadBalancerConfig(process.env, process.argv.slice(2));
  const logger = createLogger({ service: 'balancer', level: config.logLevel, jsonFilePath: config.logFile });
  const balancer = await startBalancer(config, logger);
  logger.info('balancer listening', { url: balancer.url, public_url: balancer.publicUrl, backends: config.backendUrls.join(',') });
  announceReady('balancer', balancer.url);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('balancer stopping', { signal });
    balancer.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`balancer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
