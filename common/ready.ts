/**
 * The one line a server prints on stdout once it listens, so that a launcher or a test that
 * started it on port 0 learns its URL: `{"event":"ready","service":"data","url":"http://127.0.0.1:40123/data","pid":1234}`.
 * Logs go to stderr; stdout carries nothing else.
 */
export interface ReadyLine {
  readonly event: 'ready';
  readonly service: string;
  readonly url: string;
  readonly pid: number;
}

export function announceReady(service: string, url: string): void {
  const line: ReadyLine = { event: 'ready', service, url, pid: process.pid };
  process.stdout.write(JSON.stringify(line) + '\n');
}

export function parseReadyLine(line: string): ReadyLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as Partial<ReadyLine>;
    if (value.event === 'ready' && typeof value.url === 'string' && typeof value.service === 'string') {
      return value as ReadyLine;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
