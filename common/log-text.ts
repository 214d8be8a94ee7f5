// The text log format: one line a person reads, `TIME LEVEL msg key=value ...`, in the order the
// record has them. logfmt's quoting, hand-written because it is a few lines and the npm logfmt
// packages are unmaintained.

function quoted(text: string): string {
  return text === '' || /[\s"=\\]/.test(text) || /[^\x20-\x7e]/.test(text) ? JSON.stringify(text) : text;
}

function valueText(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  return JSON.stringify(value);
}

export function formatText(record: Record<string, unknown>): string {
  const { time, level, msg, ...fields } = record;
  // The message stays readable unquoted; only what would break the line is escaped.
  const message = String(msg).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${valueText(v)}`);
  return [String(time), String(level).toUpperCase(), message, ...rest].join(' ');
}
