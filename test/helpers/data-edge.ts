import { join } from 'node:path';
import { CredentialStore, hashToken } from '../../common/credentials';
import { createLogger } from '../../common/logger';
import type { SoapServiceOptions } from '../../common/soap-host';
import { REPO_DIR } from './process';
import { DATA_NAMESPACE } from '../../common/contract';

/**
 * The options of a SOAP edge serving data.wsdl for tests of the edge itself (guards, encodings,
 * connection limits): one business server `b1` with the given token, quiet logs. Tests add their
 * operations and override what they exercise.
 */
export function dataEdgeOptions(token: string, overrides: Partial<SoapServiceOptions> = {}): SoapServiceOptions {
  return {
    service: 'data',
    wsdlPath: join(REPO_DIR, 'wsdl', 'data.wsdl'),
    path: '/data',
    namespace: DATA_NAMESPACE,
    faultElement: 'DataFault',
    principalHeader: 'business-id',
    credentials: new CredentialStore({ principals: [{ id: 'b1', tokenSha256: hashToken(token) }] }),
    bodyBytesMax: 64 * 1024,
    logger: createLogger({ service: 'test', level: 'error' }),
    operations: {},
    ...overrides,
  };
}
