/**
 * Helpers to parse configuration once, at start, into frozen objects. Only the config modules of
 * each tier (server/config.ts, business/config.ts, balancer/config.ts, scripts/*) call these;
 * nothing else reads process.env. A bad value stops the process at start with a clear message.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export function intSetting(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^-?[0-9]+$/.test(text)) throw new Error(`${name} must be an integer, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be between ${min} and ${max}, got ${text}`);
  }
  return value;
}

export function stringSetting(env: Env, name: string, fallback: string): string {
  const text = env[name];
  return text === undefined || text === '' ? fallback : text;
}

export function optionalStringSetting(env: Env, name: string): string | undefined {
  const text = env[name];
  return text === undefined || text === '' ? undefined : text;
}

export function oneOfSetting<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!(allowed as readonly string[]).includes(text)) {
    throw new Error(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(text)}`);
  }
  return text as T;
}

/**
 * Command-line flags `--name value` or `--name=value` folded into an env-like map under the
 * given env names, so one parser handles both: flags win over the environment.
 */
export function withFlags(env: Env, argv: readonly string[], flagToEnv: Readonly<Record<string, string>>): Env {
  const merged: Record<string, string | undefined> = { ...env };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const envName = flagToEnv[flag];
    if (envName === undefined)
      throw new Error(
        `unknown flag --${flag}; known: ${Object.keys(flagToEnv)
          .map((f) => '--' + f)
          .join(' ')}`,
      );
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`flag --${flag} needs a value`);
    merged[envName] = value;
  }
  return Object.freeze(merged);
}
