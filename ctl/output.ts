import { stringify } from 'yaml';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function checkOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'table';
  const known = OUTPUT_FORMATS.find((f) => f === value);
  if (known) return known;
  throw new Error(`-o ${value}: unknown output format; use one of ${OUTPUT_FORMATS.join(', ')}`);
}

// Fixed-width columns sized to their content; an empty listing still prints its header (unless
// the header is left out: --no-headers, for scripts that read the rows).
export function renderTable(headers: string[], rows: Array<Array<string | number>>, noHeaders = false): string {
  const cells = [...(noHeaders ? [] : [headers]), ...rows.map((r) => r.map(String))];
  // A reduce, not Math.max(...column): a spread of 200,000 cells overflows the call stack.
  const widths = headers.map((_, i) => cells.reduce((w, r) => Math.max(w, (r[i] ?? '').length), 0));
  if (cells.length === 0) return '';
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

export function renderFields(fields: Array<[string, string | number]>): string {
  const width = fields.reduce((w, [k]) => Math.max(w, k.length), 0);
  return fields.map(([k, v]) => `${(k + ':').padEnd(width + 1)}  ${v}`).join('\n') + '\n';
}

export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

// Written by YAML 1.1's rules, which quote every string that either a 1.1 reader (PyYAML: yes, on,
// 02:00 as a sexagesimal number) or a 1.2 reader would take for something else, so loading the output
// gives back exactly what -o json prints. A document marker opens it, as YAML streams (ctl watch) need.
export function renderYaml(value: unknown): string {
  return '---\n' + stringify(value, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
}

// -o json or -o yaml: the same data either way.
export function renderData(format: OutputFormat, value: unknown): string {
  return format === 'yaml' ? renderYaml(value) : renderJson(value);
}
