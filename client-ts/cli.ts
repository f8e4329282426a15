#!/usr/bin/env node
/**
 * `bank`: the distbank command line, on BankClient. See client-ts/README.md.
 *
 *   bank [--url URL] [--client-id ID --token TOKEN | --credentials FILE [--as ID]] [--json]
 *        [--request-id ID] [--timeout-ms MS] [--retries N]
 *        open [--initial AMOUNT] | balance ACC | deposit ACC AMOUNT | withdraw ACC AMOUNT
 *        | transfer FROM TO AMOUNT | statement ACC [--limit N] [--kind KIND...] [--before ENTRY_ID]
 *
 * Exit codes (same as the Python CLI): see exit-codes.ts.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ENTRY_KINDS, EntryKind } from '../common/contract';
import { BankClient, RETRIES_MAX, RETRY_POLICY, TIMEOUT_MS_MAX } from './bank-client';
import { CliConfig, CliUsageError, loadCliConfig } from './cli-config';
import { cliAmount, DecimalFormatError, twoDecimals } from './decimal';
import { BankError, BankProtocolError, BankTransportError } from './errors';
import { EXIT, EXIT_CODE_BY_FAULT, ExitCode } from './exit-codes';
import { balanceText, depositText, openedText, statementText, transferText, withdrawText } from './format';

interface GlobalOptions {
  url?: string;
  clientId?: string;
  token?: string;
  credentials?: string;
  as?: string;
  json?: boolean;
  requestId?: string;
  timeoutMs?: number;
  retries?: number;
}

interface Output {
  out(text: string): void;
  err(text: string): void;
}

function intArgument(name: string, min: number, max: number): (text: string) => number {
  return (text: string) => {
    if (!/^[0-9]+$/.test(text)) throw new InvalidArgumentError(`${name} must be a whole number`);
    const value = Number(text);
    if (value < min || value > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}`);
    return value;
  };
}

/** What the CLI prints for a failure: exit code, the --json error object, the text for stderr. */
interface ErrorReport {
  readonly exit: ExitCode;
  readonly json: Record<string, unknown>;
  readonly text: string;
}

/** Is the command one that moves money (it takes a request-id that makes a retry safe)? */
type CommandKind = 'read' | 'move';

function errorReport(error: unknown, config: CliConfig | undefined, kind: CommandKind): ErrorReport {
  if (error instanceof BankError) return faultReport(error, kind);
  if (error instanceof BankTransportError) return transportReport(error, config, kind);
  if (error instanceof DecimalFormatError) {
    return {
      exit: EXIT.INVALID_INPUT,
      json: { code: 'INVALID_AMOUNT', message: error.message, retryable: false },
      text: `error: INVALID_AMOUNT: ${error.message}`,
    };
  }
  if (error instanceof CliUsageError || error instanceof TypeError || error instanceof RangeError) {
    return {
      exit: EXIT.USAGE,
      json: { code: 'USAGE', message: error.message, retryable: false },
      text: `error: ${error.message}`,
    };
  }
  if (error instanceof BankProtocolError) {
    return {
      exit: EXIT.OTHER,
      json: { code: 'PROTOCOL_ERROR', message: error.message, retryable: false, requestId: error.requestId },
      text: `error: unexpected answer from the bank: ${error.message}`,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exit: EXIT.OTHER, json: { code: 'ERROR', message, retryable: false }, text: `error: ${message}` };
}

/**
 * The hint lines, worded as in the Python CLI: no answer at all suggests starting the cluster;
 * a retryable failure of a command that moves money suggests its request-id (a retry under it
 * moves the money at most once). A read (balance, statement) is simply run again.
 */
const HINT_START = 'hint: is the bank running? Start it with npm start';
function hintRetry(requestId: string | undefined, kind: CommandKind): string {
  return kind === 'move' && requestId !== undefined
    ? `\nhint: it is safe to try again with --request-id ${requestId}`
    : '';
}

/** A message names the account when the id stands in it as a whole word ("account 2 is not yours"). */
export function namesAccount(message: string, accountId: string): boolean {
  const id = accountId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^0-9A-Za-z])${id}($|[^0-9A-Za-z])`).test(message);
}

/** A fault the bank answered with: the account named once, a hint when a retry is safe. */
function faultReport(error: BankError, kind: CommandKind): ErrorReport {
  const where =
    error.accountId === undefined || namesAccount(error.message, error.accountId)
      ? ''
      : ` (account ${error.accountId})`;
  return {
    exit: EXIT_CODE_BY_FAULT[error.code],
    json: {
      code: error.code,
      message: error.message,
      ...(error.accountId === undefined ? {} : { accountId: error.accountId }),
      retryable: error.retryable,
      requestId: error.requestId,
    },
    text: `error: ${error.code}: ${error.message}${where}${error.retryable ? hintRetry(error.requestId, kind) : ''}`,
  };
}

/** No answer: nothing listened (nothing was done), or the outcome is unknown. */
function transportReport(error: BankTransportError, config: CliConfig | undefined, kind: CommandKind): ErrorReport {
  const json = {
    code: 'CONNECTION_FAILED',
    message: error.message,
    retryable: true,
    requestId: error.requestId,
    attempts: error.attempts,
  };
  const what = error.mayHaveArrived
    ? `no answer from ${config?.url ?? 'the bank'} after ${error.attempts} attempt(s): ${error.message}; whether it happened is unknown`
    : `nothing listens at ${config?.url ?? 'the bank URL'} (${error.message}); nothing was done`;
  return { exit: EXIT.RETRYABLE, json, text: `error: ${what}\n${HINT_START}${hintRetry(error.requestId, kind)}` };
}

/** One command line's run: where it prints, its exit code, and the settings once resolved. */
class Session {
  config: CliConfig | undefined;
  constructor(
    readonly program: Command,
    readonly io: Output,
    readonly setExit: (code: ExitCode) => void,
  ) {}

  globals(): GlobalOptions {
    return this.program.opts<GlobalOptions>();
  }

  /** The per-call options of the global flags: the caller's --request-id, if any. */
  callOptions(): { requestId?: string } {
    const id = this.globals().requestId;
    return id === undefined ? {} : { requestId: id };
  }

  /** Settings resolved once (flags, environment, credentials file), then the client. */
  client(): BankClient {
    const g = this.globals();
    const config = loadCliConfig({
      ...(g.url === undefined ? {} : { url: g.url }),
      ...(g.clientId === undefined ? {} : { clientId: g.clientId }),
      ...(g.token === undefined ? {} : { token: g.token }),
      ...(g.credentials === undefined ? {} : { credentials: g.credentials }),
      ...(g.as === undefined ? {} : { as: g.as }),
      ...(g.timeoutMs === undefined ? {} : { timeoutMs: g.timeoutMs }),
      ...(g.retries === undefined ? {} : { retries: g.retries }),
    });
    this.config = config;
    return new BankClient({
      url: config.url,
      clientId: config.clientId,
      authToken: config.authToken,
      ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
      ...(config.retries === undefined ? {} : { retries: config.retries }),
    });
  }

  /**
   * Run one call; print its result (text or JSON) or its error; set the exit code. `prepare`
   * checks the arguments (amounts) before the settings are read or anything is sent, and returns
   * the call.
   */
  async run<R>(
    kind: CommandKind,
    prepare: () => (bank: BankClient) => Promise<R>,
    text: (result: R) => string,
  ): Promise<void> {
    let bank: BankClient | undefined;
    const json = this.globals().json === true;
    try {
      const call = prepare();
      bank = this.client();
      const result = await call(bank);
      this.io.out(json ? JSON.stringify(result) : text(result));
      this.setExit(EXIT.OK);
    } catch (error: unknown) {
      const report = errorReport(error, this.config, kind);
      if (json) this.io.out(JSON.stringify({ error: report.json }));
      else this.io.err(report.text);
      this.setExit(report.exit);
    } finally {
      bank?.close();
    }
  }
}

export function buildProgram(io: Output, setExit: (code: ExitCode) => void): Command {
  const program = new Command('bank');
  const session = new Session(program, io, setExit);
  addGlobalOptions(program);
  addAccountCommands(program, session);
  addMoneyCommands(program, session);
  addStatementCommand(program, session);
  return program;
}

function addGlobalOptions(program: Command): void {
  program
    .description('Call the distbank bank service (SOAP) from the command line.')
    .addOption(
      new Option(
        '--url <url>',
        "bank service URL (env BANK_URL; default: the credentials file's url, else http://127.0.0.1:8080/bank)",
      ),
    )
    .addOption(new Option('--client-id <id>', 'your client id (env BANK_CLIENT_ID)'))
    .addOption(new Option('--token <token>', 'your auth token (env BANK_AUTH_TOKEN)'))
    .addOption(
      new Option(
        '--credentials <file>',
        'take url, client id and token from a credentials file such as var/demo-credentials.json (used automatically from ./var when nothing else names a client)',
      ),
    )
    .addOption(new Option('--as <clientId>', 'which client of the credentials file (default: the first)'))
    .addOption(new Option('--json', 'print the result (or {"error": …}) as one JSON object on stdout'))
    .addOption(
      new Option(
        '--request-id <id>',
        'idempotency key ([A-Za-z0-9_.:-]{1,64}); repeating a call with the same id moves money at most once (default: a fresh UUID)',
      ),
    )
    .addOption(
      new Option('--timeout-ms <ms>', 'deadline of one attempt, default 10000').argParser(
        intArgument('--timeout-ms', 1, TIMEOUT_MS_MAX),
      ),
    )
    .addOption(
      new Option(
        '--retries <n>',
        `retries after timeouts, connection errors, locked accounts (same request id), default ${RETRY_POLICY.retries}`,
      ).argParser(intArgument('--retries', 0, RETRIES_MAX)),
    )
    .showHelpAfterError('(run bank --help for usage)')
    .addHelpText('after', HELP_AFTER);
}

const HELP_AFTER = `
Amounts are decimal text with at most 2 fraction digits, e.g. 10.00. A negative number is
read as an option: put -- before it (bank deposit 12 -- -1).

Examples:
  bank --credentials var/demo-credentials.json --as alice balance 1
  bank transfer 1 2 10.00
  bank --json statement 1 --limit 5

Exit codes: 0 ok, 1 other error, 2 usage, 3 authentication failed, 4 not authorized or
account not found, 5 insufficient funds, 6 invalid amount/request or same account,
7 retryable (account locked, service unavailable, connection failed or timed out).`;

/** open (with an optional first deposit) and balance. */
function addAccountCommands(program: Command, session: Session): void {
  program
    .command('open')
    .description('open a new account owned by you')
    .option('--initial <amount>', 'initial deposit, e.g. 100.00')
    .action((options: { initial?: string }) =>
      session.run(
        'move',
        () => {
          const initial = options.initial === undefined ? undefined : cliAmount(options.initial, true);
          return (bank) => bank.openAccount(initial, session.callOptions());
        },
        openedText,
      ),
    );
  program
    .command('balance')
    .description('show the balance of one of your accounts')
    .argument('<account>', 'account id')
    .action((account: string) =>
      session.run('read', () => (bank) => bank.getBalance(account, session.callOptions()), balanceText),
    );
}

/** deposit, withdraw, transfer: the amount is checked (cliAmount) before anything is sent. */
function addMoneyCommands(program: Command, session: Session): void {
  program
    .command('deposit')
    .description('deposit money into any account (the balance is shown only for your own)')
    .argument('<account>', 'account id')
    .argument('<amount>', 'amount, e.g. 10.00')
    .action((account: string, amount: string) =>
      session.run(
        'move',
        () => {
          const value = cliAmount(amount);
          return (bank) => bank.deposit(account, value, session.callOptions());
        },
        (r) => depositText(r, twoDecimals(cliAmount(amount))),
      ),
    );
  program
    .command('withdraw')
    .description('withdraw money from one of your accounts')
    .argument('<account>', 'account id')
    .argument('<amount>', 'amount, e.g. 10.00')
    .action((account: string, amount: string) =>
      session.run(
        'move',
        () => {
          const value = cliAmount(amount);
          return (bank) => bank.withdraw(account, value, session.callOptions());
        },
        (r) => withdrawText(r, twoDecimals(cliAmount(amount))),
      ),
    );
  program
    .command('transfer')
    .description('transfer money from one of your accounts to any account')
    .argument('<from>', 'your account id')
    .argument('<to>', 'recipient account id')
    .argument('<amount>', 'amount, e.g. 10.00')
    .action((from: string, to: string, amount: string) =>
      session.run(
        'move',
        () => {
          const value = cliAmount(amount);
          return (bank) => bank.transfer(from, to, value, session.callOptions());
        },
        (r) => transferText(r, to, twoDecimals(cliAmount(amount))),
      ),
    );
}

/** statement: one page of entries, newest first, optionally of some kinds only. */
function addStatementCommand(program: Command, session: Session): void {
  program
    .command('statement')
    .description('list the entries of one of your accounts, newest first')
    .argument('<account>', 'account id')
    .addOption(
      new Option('--limit <n>', 'at most this many entries (1..1000, server default 100)').argParser(
        intArgument('--limit', 1, 1000),
      ),
    )
    .addOption(
      new Option('--kind <kind...>', 'only entries of these kinds (e.g. WITHDRAWAL TRANSFER_OUT)').choices([
        ...ENTRY_KINDS,
      ]),
    )
    .option('--before <entryId>', 'only entries older than this entryId (the next page)')
    .action((account: string, options: { limit?: number; kind?: EntryKind[]; before?: string }) =>
      session.run(
        'read',
        () => (bank) =>
          bank.getStatement(account, options.limit, {
            ...session.callOptions(),
            ...(options.kind === undefined ? {} : { kinds: options.kind }),
            ...(options.before === undefined ? {} : { beforeEntryId: options.before }),
          }),
        statementText,
      ),
    );
}

export async function main(argv: readonly string[], io: Output): Promise<ExitCode> {
  let exit: ExitCode = EXIT.OK;
  const program = buildProgram(io, (code) => (exit = code));
  program.exitOverride();
  program.configureOutput({
    writeOut: (s) => io.out(s.replace(/\n$/, '')),
    writeErr: (s) => io.err(s.replace(/\n$/, '')),
  });
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error: unknown) {
    if (error instanceof CommanderError) {
      // --help asked for is success; help shown because no command was given is a usage error.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.OK;
      if (error.code === 'commander.unknownOption' && /'-[0-9.]/.test(error.message)) {
        io.err('  (a negative amount must follow --, e.g. bank deposit 12 -- -1)');
      }
      return EXIT.USAGE;
    }
    throw error;
  }
  return exit;
}

if (require.main === module) {
  main(process.argv.slice(2), {
    out: (text) => process.stdout.write(text + '\n'),
    err: (text) => process.stderr.write(text + '\n'),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `bank: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = EXIT.OTHER;
    },
  );
}
