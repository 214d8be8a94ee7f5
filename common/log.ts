// Structured logs: one JSON object per line on stderr, so stdout stays free for command output.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export function parseLevel(value: string | undefined): Level {
  if (value === undefined || value === '') return 'info';
  if (value in rank) return value as Level;
  throw new Error(`invalid log level "${value}": expected one of ${Object.keys(rank).join(', ')}`);
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return code === undefined ? value.message : { message: value.message, code };
  }
  return typeof value === 'bigint' ? value.toString() : value;
}

export function createLogger(options: { component: string; level?: Level; write?: (line: string) => void }): Logger {
  const threshold = rank[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const make = (base: Fields): Logger => {
    const emit = (level: Level, msg: string, fields?: Fields) => {
      if (rank[level] < threshold) return;
      const record: Fields = { time: new Date().toISOString(), level, msg, ...base };
      for (const [k, v] of Object.entries(fields ?? {})) record[k] = serialise(v);
      write(JSON.stringify(record));
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make({ component: options.component });
}
