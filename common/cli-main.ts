/**
 * The start of every process (data server, business server, balancer, cluster launcher):
 * `--help` / `-h` prints the usage (made from the process's flag table, so it cannot drift from
 * what is parsed) and exits 0; anything that stops the start — a bad setting, a missing or
 * unreadable file, a refused database login, a port in use — is one line on stderr and exit
 * code 2, without a stack trace: the operator needs the cause, not our call stack.
 * Messages never carry secrets: tokens are env-only and never put in errors, and a
 * database URL's password is masked here in case a library quotes it.
 */
import { appendFileSync } from 'node:fs';

export const EXIT_CONFIG = 2;

/**
 * A log file that cannot be written must stop the start (one line), not be dropped silently
 * by the logger's asynchronous file transport. Appending nothing creates it if need be.
 */
export function checkLogFile(path: string | undefined): void {
  if (path === undefined) return;
  try {
    appendFileSync(path, '');
  } catch (error) {
    throw new Error(
      `BANK_LOG_FILE ${path} cannot be written: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

export interface Usage {
  /** e.g. 'node dist/server/main.js' */
  readonly command: string;
  /** One or two sentences: what the process is. */
  readonly summary: string;
  /** flag name (without --) -> env variable, as given to withFlags. */
  readonly flags: Readonly<Record<string, string>>;
  /** Where the other (env-only) settings are listed. */
  readonly more: string;
}

export function usageText(usage: Usage): string {
  const entries = Object.entries(usage.flags);
  const width = Math.max(...entries.map(([f]) => f.length)) + 10;
  const lines = [
    `usage: ${usage.command} [--flag value | --flag=value ...]`,
    '',
    usage.summary,
    '',
    'flags (each also an environment variable; a flag wins over the environment):',
    ...entries.map(([flag, env]) => `  ${`--${flag} <value>`.padEnd(width)} ${env}`),
    '  --help, -h'.padEnd(width + 2) + ' this text',
    '',
    usage.more,
    '',
  ];
  return lines.join('\n');
}

/** One line: the message only, newlines folded, a URL's password masked. */
export function startFailureLine(name: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const masked = message.replace(/(\w+:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@');
  return `${name}: cannot start: ${masked.replace(/\s*\n\s*/g, ' ')}\n`;
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * Run a process's main(): --help, or main() with start failures reported as one line + exit 2.
 * main() resolves once the process serves; what happens after is its own business.
 */
export function runMain(name: string, usage: Usage, argv: readonly string[], main: () => Promise<void>): void {
  if (wantsHelp(argv)) {
    process.stdout.write(usageText(usage));
    process.exit(0);
  }
  main().catch((error: unknown) => {
    process.stderr.write(startFailureLine(name, error));
    process.exit(EXIT_CONFIG);
  });
}
