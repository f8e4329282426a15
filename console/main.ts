import { readFileSync } from 'node:fs';
import { loadAdminAuth } from '../common/admin-auth';
import { runMain } from '../common/cli-main';
import { createLogger } from '../common/logger';
import { announceReady } from '../common/ready';
import { AdminApi } from './admin-api';
import { ClusterView } from './cluster-view';
import { CONSOLE_FLAGS, loadConsoleConfig } from './config';
import { LauncherLink } from './launcher-link';
import { startConsoleServer } from './server';

/**
 * The control plane: `node dist/console/main.js [--port 8070] [--balancer-url …] [--business-urls …]
 * [--data-urls …]` (npm start runs it for you). Watches the processes through their admin
 * endpoints, serves the browser console and the admin SOAP service; never on a client's path.
 * Prints the ready line once it listens; SIGTERM/SIGINT stop it.
 */
function adminTokenOf(file: string): string {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { adminToken?: unknown };
  if (typeof parsed.adminToken !== 'string' || parsed.adminToken === '')
    throw new Error(`${file}: expected {"adminToken": "…"}`);
  return parsed.adminToken;
}

async function main(): Promise<void> {
  const config = loadConsoleConfig(process.env, process.argv.slice(2), typeof process.send === 'function');
  const logger = createLogger({ service: 'console', level: config.logLevel });
  const auth = loadAdminAuth(config.adminCredentialsFile);
  if (!auth.configured)
    throw new Error('BANK_ADMIN_CREDENTIALS_FILE is required: the console is for the holder of the admin token');
  const view = new ClusterView(config, adminTokenOf(config.adminTokenFile));
  const launcher = config.devMode
    ? new LauncherLink(
        (m) => {
          if (process.send === undefined)
            throw new Error('internal error: dev mode without an IPC channel to the launcher');
          process.send(m);
        },
        (on) => process.on('message', on),
      )
    : undefined;
  const api = new AdminApi(view, config, launcher);
  const server = await startConsoleServer(config, view, api, auth, logger);
  view.start();
  logger.info('console listening', {
    url: server.url,
    dev_mode: config.devMode,
    processes: config.targets.map((t) => t.name).join(','),
  });
  announceReady('console', server.url);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    view.stop();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The launcher went away (the IPC channel closed): so do we.
  process.on('disconnect', stop);
}

const USAGE = {
  command: 'node dist/console/main.js',
  summary:
    'The control plane: the browser console and the admin SOAP service (wsdl/admin.wsdl at /admin), watching the tiers through their admin endpoints.',
  flags: CONSOLE_FLAGS,
  more: 'Other settings (BANK_DEV_MODE, BANK_CONSOLE_POLL_MS, …): see console/README.md.',
};

runMain('console', USAGE, process.argv.slice(2), main);
