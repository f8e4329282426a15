import { resolve } from 'node:path';
import { runMain } from '../common/cli-main';
import { stringSetting, withFlags } from '../common/settings';
import { addClient, AdminCommandError, removeClient, rotateBusiness, rotateClient } from './lib/credential-admin';
import { defined, itemAt } from '../common/defined';

/**
 * `npm run admin -- <command> [--data-dir var]`: credentials as a product. Each command writes
 * the hashed file atomically; running servers re-read it within ~2 s. A new token goes to
 * stdout alone, once (only its hash is stored); what to do next goes to stderr.
 *
 *   client add <id>        a new client with a new token
 *   client rotate <id>     a new token for a client; the old one stops working
 *   client remove <id>     the client's token stops working
 *   business rotate <id>   a new token for a business server (it must then run with it)
 */
const FLAGS: Readonly<Record<string, string>> = Object.freeze({ 'data-dir': 'BANK_DATA_DIR' });

const USAGE = {
  command: 'npm run admin -- client add|rotate|remove <client-id> | business rotate <business-id>',
  summary:
    'Change the credentials of a cluster: writes the hashed files in the data dir atomically and prints a new token once.',
  flags: FLAGS,
  more: 'Servers re-read the files within ~2 s (BANK_CREDENTIALS_RELOAD_MS); see scripts/README.md.',
};

function say(text: string): void {
  process.stderr.write(text + '\n');
}

function clientCommand(dataDir: string, verb: string, id: string): void {
  if (verb === 'add') {
    process.stdout.write(`${defined(addClient(dataDir, id).token, 'the new token')}\n`);
    say(
      `client ${id} added; above is its token, shown once (only its hash is stored). Business servers accept it within ~2 s.`,
    );
  } else if (verb === 'rotate') {
    const change = rotateClient(dataDir, id);
    process.stdout.write(`${defined(change.token, 'the new token')}\n`);
    say(
      `client ${id}: above is its new token, shown once; the old one stops working within ~2 s.` +
        (change.demo ? ' demo-credentials.json has the new token too.' : ''),
    );
  } else if (verb === 'remove') {
    const change = removeClient(dataDir, id);
    say(
      `client ${id} removed: its token stops working within ~2 s; its accounts and their money stay.` +
        (change.demo
          ? ` It was a demo client: the next npm start adds it again (with a new token) unless BANK_DEMO_CLIENTS leaves it out.`
          : ''),
    );
  } else {
    throw new AdminCommandError(`unknown command "client ${verb}": use client add|rotate|remove <id>`);
  }
}

function businessCommand(dataDir: string, verb: string, id: string): void {
  if (verb !== 'rotate') throw new AdminCommandError(`unknown command "business ${verb}": use business rotate <id>`);
  process.stdout.write(rotateBusiness(dataDir, id) + '\n');
  say(
    `business server ${id}: above is its new token, shown once. The data server accepts only the new one within ~2 s; ` +
      `until ${id} runs with it, ${id} reports degraded and the balancer routes around it. ` +
      `Restart ${id} with BANK_BUSINESS_TOKEN=<the new token> (under npm start: restart the cluster; it makes fresh business tokens at every start).`,
  );
}

/** `client add carol --data-dir /x` -> words and flags (`--name value` or `--name=value`). */
function splitArgs(argv: readonly string[]): { positional: string[]; flags: string[] } {
  const positional: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = itemAt(argv, i);
    if (!arg.startsWith('--')) positional.push(arg);
    else if (arg.includes('=') || i + 1 >= argv.length) flags.push(arg);
    else flags.push(arg, itemAt(argv, ++i));
  }
  return { positional, flags };
}

// eslint-disable-next-line @typescript-eslint/require-await -- async so that the errors thrown here reach runMain's catch
async function main(): Promise<void> {
  const { positional, flags } = splitArgs(process.argv.slice(2));
  const dataDir = resolve(stringSetting(withFlags(process.env, flags, FLAGS), 'BANK_DATA_DIR', 'var'));
  const [kind, verb, id, ...rest] = positional;
  if (kind === undefined || verb === undefined || id === undefined || rest.length > 0) {
    throw new AdminCommandError(
      `expected <client|business> <verb> <id>, got ${JSON.stringify(positional.join(' '))}; see --help`,
    );
  }
  if (kind === 'client') clientCommand(dataDir, verb, id);
  else if (kind === 'business') businessCommand(dataDir, verb, id);
  else throw new AdminCommandError(`unknown command "${kind}": use client … or business …; see --help`);
}

runMain('admin', USAGE, process.argv.slice(2), main);
