import type { Logger } from '../common/logger';
import { ReloadingFile } from '../common/reloading-file';
import type { OperationHandler } from '../common/soap-host';
import { FaultHooks, withFaults } from './fault-actions';
import { FaultInjector } from './fault-injector';
import { FaultRules, readFaultRulesFile } from './fault-rules';

/**
 * Fault injection of one business server, on only when started with a rules file
 * (`--faults FILE`, BANK_FAULTS_FILE): the file is read at start (a bad one stops the start)
 * and re-read within `reloadMs` of a change (a bad one keeps the previous rules, logged as an error).
 */
export interface FaultSetup {
  readonly injector: FaultInjector;
  /** Replaces the rules until the file next changes (the admin route). */
  set(rules: FaultRules): void;
  /** The rules in force, as given. */
  rulesJson(): Record<string, unknown>;
  wrap(operations: Readonly<Record<string, OperationHandler>>): Readonly<Record<string, OperationHandler>>;
  /** /health: in the public part `faultInjection: true`; the admin's details add the counts. */
  health(): { readonly public: Record<string, unknown>; readonly details: Record<string, unknown> };
}

export function startFaultInjection(path: string, reloadMs: number, hooks: FaultHooks): FaultSetup {
  const logger: Logger = hooks.logger;
  const file = new ReloadingFile<FaultRules>(path, reloadMs, readFaultRulesFile, logger, 'fault rules', 'error');
  const injector = new FaultInjector(() => file.current());
  logger.warn('FAULT INJECTION IS ON: this server fails on purpose; never use it for real money', {
    path,
    rules: file.current().rules.length,
    seed: file.current().seed,
  });
  return {
    injector,
    set: (rules) => file.override(rules),
    rulesJson: () => injector.active.json as Record<string, unknown>,
    wrap: (operations) => withFaults(operations, injector, hooks),
    health: () => ({
      public: { faultInjection: true },
      details: { faultRules: injector.active.rules.length, faultsInjected: injector.injectedByAction },
    }),
  };
}
