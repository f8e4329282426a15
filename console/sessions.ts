import { randomBytes } from 'node:crypto';

/**
 * Browser sessions of the console: the page trades the admin token once (POST /api/session) for
 * a random session id in an HttpOnly, SameSite=Strict cookie, so the token is not kept by the
 * page and EventSource (which cannot send headers) is authenticated too. Bounded in number and
 * in time; the oldest session goes first when full. In memory: a console restart logs out.
 */
export const SESSION_COOKIE = 'distbank_console';

export class Sessions {
  private readonly expiresAtMs = new Map<string, number>();

  constructor(
    private readonly sessionsMax: number,
    private readonly sessionMs: number,
  ) {}

  create(nowMs: number): string {
    while (this.expiresAtMs.size >= this.sessionsMax) {
      const oldest = this.expiresAtMs.keys().next().value as string;
      this.expiresAtMs.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    this.expiresAtMs.set(id, nowMs + this.sessionMs);
    return id;
  }

  valid(id: string | undefined, nowMs: number): boolean {
    if (id === undefined) return false;
    const expires = this.expiresAtMs.get(id);
    if (expires === undefined) return false;
    if (expires <= nowMs) {
      this.expiresAtMs.delete(id);
      return false;
    }
    return true;
  }

  cookie(id: string): string {
    return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(this.sessionMs / 1000)}`;
  }
}

/** The session id in a Cookie header, if any. */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === SESSION_COOKIE && value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value)) return value;
  }
  return undefined;
}
