import winston from 'winston';

/**
 * One winston logger per process. Human-readable lines on stderr (stdout is reserved for the
 * machine-readable ready line, see ready.ts); JSON lines to a file when a path is given.
 * Callers log one structured line per operation: request_id, principal, operation, accounts,
 * amount, outcome, duration_ms. Never pass a token or a whole header set to the logger.
 *
 * Values often come from callers (an XML namespace, a header, a fault message), so both formats
 * escape what could forge a line or drive a terminal: every control character (C0, DEL, C1),
 * the Unicode line and paragraph separators and the bidirectional overrides. JSON lines stay
 * valid JSON that parses back to the very values; the console format quotes (JSON-style) any
 * value that is not plainly safe, so `x status=200` cannot pose as two fields either.
 */
export type Logger = winston.Logger;

export interface LoggerOptions {
  readonly service: string;
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly jsonFilePath?: string | undefined;
}

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

const MESSAGE = Symbol.for('message');
/** What JSON.stringify leaves raw but a terminal or a line reader may act on. */
const UNSAFE_AFTER_JSON = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** Printed bare in the console format; anything else is quoted. */
const BARE = /^[A-Za-z0-9_.,:/@+%#-]*$/;
const BARE_MESSAGE = /^[\u0020-\u007e]*$/;

function unicodeEscape(c: string): string {
  return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
}

/** JSON text with every control-like character escaped (still valid JSON, same value). */
export function safeJson(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
  } catch {
    text = '"[not serializable]"'; // a cycle: the line must still be written
  }
  return text.replace(UNSAFE_AFTER_JSON, unicodeEscape);
}

/** One console field value: bare when plainly safe, else quoted and escaped. */
export function consoleValue(value: unknown): string {
  if (typeof value === 'string' && BARE.test(value)) return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return safeJson(value);
}

export function createLogger(options: LoggerOptions): Logger {
  const human = winston.format.printf((info) => {
    const { level, message, timestamp, service, ...rest } = info as Record<string, unknown>;
    const fields = Object.entries(rest)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${consoleValue(v)}`)
      .join(' ');
    const text = typeof message === 'string' ? message : safeJson(message);
    return `${String(timestamp)} ${String(service)} ${String(level)} ${safeText(text)}${fields ? ' ' + fields : ''}`;
  });
  // Replaces winston.format.json(): the same one object per line, through safeJson.
  const json = winston.format((info) => {
    (info as unknown as Record<symbol, string>)[MESSAGE] = safeJson(info);
    return info;
  });
  const transports: winston.transport[] = [
    new winston.transports.Console({
      stderrLevels: [...LOG_LEVELS],
      format: winston.format.combine(winston.format.timestamp(), human),
    }),
  ];
  if (options.jsonFilePath !== undefined) {
    transports.push(
      new winston.transports.File({
        filename: options.jsonFilePath,
        format: winston.format.combine(winston.format.timestamp(), json()),
      }),
    );
  }
  return winston.createLogger({ level: options.level, defaultMeta: { service: options.service }, transports });
}

/** A message (code's own text) keeps its spaces but not its line breaks or escapes. */
function safeText(text: string): string {
  return BARE_MESSAGE.test(text) ? text : safeJson(text).slice(1, -1);
}
