import { join } from 'node:path';
import { ClusterConfig } from './cluster-config';
import { ADMIN_CREDENTIALS_FILE } from './cluster-credentials';
import { devControl } from './dev-control';
import { ChildEventSink, ChildPolicy, SupervisedChild } from './supervised-child';

/**
 * The console (console/main.js) as a child of `npm start`: it watches every other child through
 * their admin endpoints, with the admin token from admin-credentials.json. In dev mode it gets
 * an IPC channel to us, over which it may stop, pause, resume or restart a business server.
 */
export function consoleChild(
  config: ClusterConfig,
  common: Readonly<Record<string, string>>,
  urls: { balancer: string; business: readonly SupervisedChild[]; data: string },
  policy: ChildPolicy,
  onEvent: ChildEventSink,
  onControl: (what: string) => void,
): SupervisedChild {
  return new SupervisedChild(
    {
      name: 'console',
      script: 'console/main.js',
      env: {
        ...common,
        BANK_CONSOLE_PORT: String(config.consolePort),
        BANK_CONSOLE_BALANCER_URL: urls.balancer,
        BANK_CONSOLE_BUSINESS_URLS: urls.business.map((b) => b.url).join(','),
        BANK_CONSOLE_DATA_URLS: urls.data,
        BANK_ADMIN_TOKEN_FILE: join(config.dataDir, ADMIN_CREDENTIALS_FILE),
        BANK_DEV_MODE: config.devMode ? 'on' : 'off',
      },
      ...(config.devMode ? { onMessage: devControl(urls.business, onControl) } : {}),
    },
    policy,
    onEvent,
  );
}
