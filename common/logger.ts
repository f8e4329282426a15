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
    // undefined for undefined or a function, whatever the lib's type says
    const json = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) as
      string | undefined;
    text = json ?? 'null';
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

/**
 * The console line, made in one pass at the logger (not a timestamp() + printf() per transport):
 * `<ISO time> <service> <level> <message> key=value …`. It is the logger's own format, so it
 * also replaces winston's default one, json(), which serialized every entry for nothing.
 */
const consoleLine = winston.format((info) => {
  const record = info as unknown as Record<string | symbol, unknown>;
  const text = typeof info.message === 'string' ? info.message : safeJson(info.message);
  let line = `${new Date().toISOString()} ${String(record.service)} ${info.level} ${safeText(text)}`;
  for (const key of Object.keys(record)) {
    if (key === 'level' || key === 'message' || key === 'service') continue;
    const value = record[key];
    if (value !== undefined) line += ` ${key}=${consoleValue(value)}`;
  }
  record[MESSAGE] = line;
  return info;
});

// winston's Transport base class: winston.Transport at run time, missing from its typings.
const TransportBase = (winston as unknown as { Transport: new () => winston.transport }).Transport;

/**
 * stderr, one write per line, nothing else: winston's Console transport also schedules a
 * setImmediate per line to emit 'logged', which nothing here listens to.
 */
class StderrTransport extends TransportBase {
  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    process.stderr.write(`${String(info[MESSAGE])}\n`);
    next();
  }
}

export function createLogger(options: LoggerOptions): Logger {
  // Replaces winston.format.json(): the same one object per line, through safeJson.
  const json = winston.format((info) => {
    (info as unknown as Record<symbol, string>)[MESSAGE] = safeJson(info);
    return info;
  });
  const transports: winston.transport[] = [new StderrTransport()];
  if (options.jsonFilePath !== undefined) {
    transports.push(
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- winston types its transports as interfaces; they are TransportStream subclasses
      new winston.transports.File({
        filename: options.jsonFilePath,
        format: winston.format.combine(winston.format.timestamp(), json()),
      }),
    );
  }
  return winston.createLogger({
    level: options.level,
    defaultMeta: { service: options.service },
    format: consoleLine(),
    transports,
  });
}

/** A message (code's own text) keeps its spaces but not its line breaks or escapes. */
function safeText(text: string): string {
  return BARE_MESSAGE.test(text) ? text : safeJson(text).slice(1, -1);
}
