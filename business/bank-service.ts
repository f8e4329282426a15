import { join } from 'node:path';
import { AdminAuth, loadAdminAuth } from '../common/admin-auth';
import type { HealthReport } from '../common/health';
import { Logger } from '../common/logger';
import { BANK_NAMESPACE, BANK_PATH, BANK_REQUEST_ID_CHARS_MAX } from '../common/contract';
import { SoapServer, SoapServiceOptions, startSoapServer } from '../common/soap-host';
import type { SoapObserver } from '../common/soap-observer';
import { bankWsdlText } from '../common/amount-max';
import { AccountQueue } from './account-queue';
import { bankOperations } from './bank-operations';
import { ReloadingCredentials } from '../common/reloading-credentials';
import { businessObserver, watchBusiness } from './business-metrics';
import type { DataCallObserver } from './data-call-observer';
import { BusinessConfig } from './config';
import { DataClient } from './data-client';
import { DataTierCheck } from './data-tier-check';
import { checkDataContractFile } from './data-contract';
import { MoneyFlow } from './money-flow';
import { OwnerCache } from './owner-cache';
import { FaultSetup, startFaultInjection } from './fault-setup';
import { faultAdminRoute } from './fault-admin';
import { ClientRateLimiter } from './rate-limit';
import { faultsInjectedCounter } from './fault-metrics';

/**
 * The business server: bank.wsdl at /bank on the shared SOAP edge (common/soap-host.ts), with
 * its clients' credentials, one data-tier client, one owner cache and one set of per-account
 * queues for the whole process.
 */

export interface BankServer {
  readonly url: string;
  /** Stops accepting, lets requests in flight finish (up to drainMs), then closes the data client. */
  close(drainMs: number): Promise<void>;
}

export function wsdlPath(): string {
  // Compiled to dist/business/; the WSDL stays in the source tree's wsdl/.
  return join(__dirname, '..', '..', 'wsdl', 'bank.wsdl');
}

/** One business server's parts: built once at start, shared by every request. */
interface BusinessParts {
  readonly observer: SoapObserver;
  readonly credentials: ReloadingCredentials;
  readonly faults: FaultSetup | undefined;
  readonly data: DataClient;
  readonly check: DataTierCheck;
  readonly owners: OwnerCache;
  readonly queue: AccountQueue;
  readonly rateLimiter: ClientRateLimiter;
  readonly flow: MoneyFlow;
  readonly admin: AdminAuth;
}

export async function startBankServer(config: BusinessConfig, logger: Logger): Promise<BankServer> {
  await checkDataContractFile();
  const parts = businessParts(config, logger);
  const { check, data } = parts;
  let soap: SoapServer;
  try {
    await check.start();
    soap = await startSoapServer(bankSoapOptions(config, parts, logger), config.host, config.port);
  } catch (error) {
    check.stop();
    data.close();
    throw error;
  }
  return {
    url: soap.url,
    async close(drainMs: number) {
      await soap.close(drainMs);
      check.stop();
      data.close();
    },
  };
}

function businessParts(config: BusinessConfig, logger: Logger): BusinessParts {
  const { observer, dataCalls } = businessObserver(config.businessId, config.dataUrls, config.traceRingEntries);
  const credentials = new ReloadingCredentials(config.clientCredentialsFile, config.credentialsReloadMs, logger);
  const faults =
    config.faultsFile === undefined
      ? undefined
      : startFaultInjection(config.faultsFile, config.faultsReloadMs, {
          logger,
          onInjected: faultsInjectedCounter(observer.metrics.registry),
        });
  const data = dataClient(config, logger, dataCalls, () => check.refused());
  const check = new DataTierCheck(
    data,
    {
      intervalMs: config.dataCheckIntervalMs,
      callTimeoutMs: config.dataCallTimeoutMs,
      businessId: config.businessId,
      dataUrl: config.dataUrls.join(','),
    },
    logger,
  );
  const owners = new OwnerCache(config.ownerCacheEntriesMax);
  const queue = new AccountQueue({
    lengthMax: config.accountQueueLengthMax,
    perClientMax: config.accountQueuePerClientMax,
    waitMs: config.accountQueueWaitMs,
  });
  const rateLimiter = new ClientRateLimiter({
    ratePerS: config.clientRatePerS,
    burst: config.clientBurst,
    clientsMax: config.rateClientsMax,
  });
  watchBusiness(observer, queue, data, config.businessId);
  const flow = new MoneyFlow(
    data,
    owners,
    { lockWaitMs: config.lockWaitMs, lockLeaseMs: config.lockLeaseMs, retriesMax: config.updateRetriesMax },
    logger,
  );
  const admin = loadAdminAuth(config.adminCredentialsFile);
  return { observer, credentials, faults, data, check, owners, queue, rateLimiter, flow, admin };
}

function dataClient(
  config: BusinessConfig,
  logger: Logger,
  observer: DataCallObserver,
  onCredentialsRefused: () => void,
): DataClient {
  return new DataClient({
    urls: config.dataUrls,
    healthIntervalMs: config.dataHealthIntervalMs,
    healthTimeoutMs: config.dataHealthTimeoutMs,
    businessId: config.businessId,
    businessToken: config.businessToken,
    callTimeoutMs: config.dataCallTimeoutMs,
    socketsMax: config.dataSocketsMax,
    responseBytesMax: config.dataResponseBytesMax,
    callsInFlightMax: config.dataCallsInFlightMax,
    batchCallsMax: config.dataBatchCallsMax,
    batchesInFlightMax: config.dataBatchesInFlightMax,
    logger,
    onCredentialsRefused,
    observer,
  });
}

/** bank.wsdl on the SOAP edge: the operations behind the data-tier guard and the fault injector. */
function bankSoapOptions(config: BusinessConfig, parts: BusinessParts, logger: Logger): SoapServiceOptions {
  const { check, faults, admin } = parts;
  const operations = check.guard(
    bankOperations({
      data: parts.data,
      owners: parts.owners,
      queue: parts.queue,
      flow: parts.flow,
      rateLimiter: parts.rateLimiter,
      amountCentsMax: config.amountCentsMax,
      accountsPerClientMax: config.accountsPerClientMax,
      requestDeadlineMs: config.requestDeadlineMs,
      logger,
    }),
  );
  return {
    service: 'bank',
    wsdlPath: wsdlPath(),
    wsdlText: bankWsdlText(wsdlPath(), config.amountCentsMax),
    path: BANK_PATH,
    namespace: BANK_NAMESPACE,
    faultElement: 'BankFault',
    principalHeader: 'client-id',
    credentials: parts.credentials,
    // Outermost: an injected effect comes before the data-tier guard and the operation, or after both.
    operations: faults === undefined ? operations : faults.wrap(operations),
    notReady: () => check.current === 'refused',
    bodyBytesMax: config.bodyBytesMax,
    connections: config.connections,
    logger,
    requestIdCharsMax: BANK_REQUEST_ID_CHARS_MAX,
    admin,
    extraRoute: faultAdminRoute(faults, admin, logger),
    observer: parts.observer,
    health: () => Promise.resolve(healthReport(config, parts)),
  };
}

/** GET /health: the data-tier check's verdict; the details for the admin. */
function healthReport(config: BusinessConfig, parts: BusinessParts): HealthReport {
  const { check, faults, queue, data } = parts;
  return {
    ...check.health(),
    ...(faults === undefined ? {} : { public: faults.health().public }),
    details: {
      ...check.health().details,
      ...faults?.health().details,
      businessId: config.businessId,
      busyAccounts: queue.busyAccounts,
      rateLimitedClients: parts.rateLimiter.clients,
      dataCallsInFlight: data.inFlight,
      dataServers: data.endpointStates(),
      ownerCacheEntries: parts.owners.size,
    },
  };
}
