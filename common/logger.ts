import winston from 'winston';

/**
 * One winston logger per process. Human-readable lines on stderr (stdout is reserved for the
 * machine-readable ready line, see ready.ts); JSON lines to a file when a path is given.
 * Callers log one structured line per operation: request_id, principal, operation, accounts,
 * amount, outcome, duration_ms. Never pass a token or a whole header set to the logger.
 */
export type Logger = winston.Logger;

export interface LoggerOptions {
  readonly service: string;
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly jsonFilePath?: string | undefined;
}

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

export function createLogger(options: LoggerOptions): Logger {
  const human = winston.format.printf((info) => {
    const { level, message, timestamp, service, ...rest } = info as Record<string, unknown>;
    const fields = Object.entries(rest)
      .filter(([k]) => typeof k === 'string')
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${String(timestamp)} ${String(service)} ${String(level)} ${String(message)}${fields ? ' ' + fields : ''}`;
  });
  const transports: winston.transport[] = [
    new winston.transports.Console({
      stderrLevels: [...LOG_LEVELS],
      format: winston.format.combine(winston.format.timestamp(), human),
    }),
  ];
  if (options.jsonFilePath !== undefined) {
    transports.push(new winston.transports.File({
      filename: options.jsonFilePath,
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    }));
  }
  return winston.createLogger({ level: options.level, defaultMeta: { service: options.service }, transports });
}
