export type OutputFormat = 'table' | 'json' | 'yaml';

export function checkOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === 'table') return 'table';
  if (value === 'json' || value === 'yaml') return value;
  throw new Error(`-o ${value}: expected table, json or yaml`);
}

// Fixed-width columns sized to their content; an empty listing still prints its header.
export function renderTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  // A reduce, not Math.max(...column): a spread of 200,000 cells overflows the call stack.
  const widths = headers.map((_, i) => cells.reduce((w, r) => Math.max(w, (r[i] ?? '').length), 0));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

export function renderFields(fields: Array<[string, string | number]>): string {
  const width = fields.reduce((w, [k]) => Math.max(w, k.length), 0);
  return fields.map(([k, v]) => `${(k + ':').padEnd(width + 1)}  ${v}`).join('\n') + '\n';
}

export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

// YAML for the JSON-shaped values ctl prints: strings are quoted whenever plain YAML could read them
// as something else, so `yaml.load(out)` gives back exactly what `-o json` would.
export function renderYaml(value: unknown): string {
  const scalar = (v: unknown): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    const s = typeof v === 'string' ? v : typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
    return /^[A-Za-z_][\w./-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) ? s : JSON.stringify(s);
  };
  const lines: string[] = [];
  const walk = (v: unknown, indent: string): void => {
    if (Array.isArray(v)) {
      if (v.length === 0) lines[lines.length - 1] += ' []';
      for (const item of v) {
        if (item !== null && typeof item === 'object' && Object.keys(item as object).length > 0) {
          lines.push(`${indent}-`);
          const start = lines.length;
          walk(item, indent + '  ');
          // "- key: value" on the dash's line, as YAML writers do.
          lines[start - 1] = `${indent}- ${lines[start].trimStart()}`;
          lines.splice(start, 1);
        } else {
          lines.push(
            `${indent}- ${typeof item === 'object' && item !== null ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)}`,
          );
        }
      }
      return;
    }
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      if (entries.length === 0) lines[lines.length - 1] += ' {}';
      for (const [k, x] of entries) {
        if (x !== null && typeof x === 'object') {
          lines.push(`${indent}${scalar(k)}:`);
          walk(x, indent + '  ');
        } else {
          lines.push(`${indent}${scalar(k)}: ${scalar(x)}`);
        }
      }
      return;
    }
    lines.push(`${indent}${scalar(v)}`);
  };
  if (value === null || typeof value !== 'object') return scalar(value) + '\n';
  lines.push('---');
  walk(value, '');
  return lines.join('\n') + '\n';
}

// -o json or -o yaml: the same data either way.
export function renderData(format: OutputFormat, value: unknown): string {
  return format === 'yaml' ? renderYaml(value) : renderJson(value);
}
