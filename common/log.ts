import { UsageError } from './cli';
import { formatText } from './log-text';

// Structured logs, one record per line on stderr so stdout stays free for command output: a JSON
// object (the default, for collectors) or a line of text (for a person at journalctl).

export type Level = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export type LogFormat = 'json' | 'text';
const FORMATS: LogFormat[] = ['json', 'text'];

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

// The logger a daemon makes: its level and format change in place (SIGHUP), for every child too.
export interface RootLogger extends Logger {
  reconfigure(settings: { level?: Level; format?: LogFormat }): void;
}

export function parseLevel(value: string | undefined): Level {
  if (value === undefined || value === '') return 'info';
  if (value in rank) return value as Level;
  throw new Error(`invalid log level "${value}": expected one of ${Object.keys(rank).join(', ')}`);
}

export function parseLogFormat(value: string | undefined): LogFormat {
  if (value === undefined || value === '') return 'json';
  if ((FORMATS as string[]).includes(value)) return value as LogFormat;
  throw new Error(`invalid log format "${value}": expected ${FORMATS.join(' or ')}`);
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return code === undefined ? value.message : { message: value.message, code };
  }
  return typeof value === 'bigint' ? value.toString() : value;
}

export function createLogger(options: {
  component: string;
  level?: Level;
  format?: LogFormat;
  write?: (line: string) => void;
}): RootLogger {
  const settings = { threshold: rank[options.level ?? 'info'], format: options.format ?? 'json' };
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const make = (base: Fields): Logger => {
    const emit = (level: Level, msg: string, fields?: Fields) => {
      if (rank[level] < settings.threshold) return;
      const record: Fields = { time: new Date().toISOString(), level, msg, ...base };
      for (const [k, v] of Object.entries(fields ?? {})) record[k] = serialise(v);
      write(settings.format === 'text' ? formatText(record) : JSON.stringify(record));
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return {
    ...make({ component: options.component }),
    reconfigure: ({ level, format }) => {
      if (level) settings.threshold = rank[level];
      if (format) settings.format = format;
    },
  };
}

// The log options both daemons take (--log-level, --log-format), checked.
export function logSettingsOf(values: { 'log-level'?: string; 'log-format'?: string }): {
  level: Level;
  format: LogFormat;
} {
  const checked = <V>(flag: string, parse: () => V): V => {
    try {
      return parse();
    } catch (err) {
      throw new UsageError(`--${flag}: ${(err as Error).message}`);
    }
  };
  return {
    level: checked('log-level', () => parseLevel(values['log-level'])),
    format: checked('log-format', () => parseLogFormat(values['log-format'])),
  };
}
