import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL cluster of the test's own, in a temp dir on a free loopback port, that the test
 * may stop and start (the shared server on 5432 must never be restarted). PostgreSQL refuses to
 * run as root: as root the cluster runs as the `postgres` unix user (Debian's package creates it).
 */
export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';

export function throwawayPgAvailable(): boolean {
  return existsSync(join(PG_BIN_DIR, 'initdb')) && existsSync(join(PG_BIN_DIR, 'pg_ctl'));
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class ThrowawayPg {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly asPostgres: boolean,
  ) {}

  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth, loopback only). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(): Promise<ThrowawayPg> {
    const dir = mkdtempSync(join(tmpdir(), 'distbank-pg-'));
    const asPostgres = process.getuid?.() === 0;
    if (asPostgres) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    const pg = new ThrowawayPg(dir, await freePort(), asPostgres);
    pg.run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    pg.start();
    return pg;
  }

  /** Starts and waits until it accepts connections (pg_ctl -w). */
  start(): void {
    this.run('pg_ctl', this.startArgs());
  }

  /** Fast shutdown: every backend is terminated (the clients see their connections end). */
  stop(): void {
    this.run('pg_ctl', this.stopArgs());
  }

  /** The same start or stop as one shell command line, for tools that take a command (npm run chaos). */
  shellCommand(action: 'start' | 'stop'): string {
    const [command, argv] = this.argv('pg_ctl', action === 'start' ? this.startArgs() : this.stopArgs());
    return [command, ...argv].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  }

  private startArgs(): string[] {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
    return ['-D', join(this.dir, 'data'), '-o', options, '-l', join(this.dir, 'log'), '-w', '-t', '30', 'start'];
  }

  private stopArgs(): string[] {
    return ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', '-t', '30', 'stop'];
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private argv(tool: string, args: readonly string[]): [string, string[]] {
    const path = join(PG_BIN_DIR, tool);
    return this.asPostgres ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, [...args]];
  }

  private run(tool: string, args: readonly string[]): void {
    const [command, argv] = this.argv(tool, args);
    execFileSync(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  }
}
