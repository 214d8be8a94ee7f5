import { UsageError } from '../common/cli';

// A flag that may stand alone, taking a default, or carry a value after "=" (--wait, --wait=5s).
export interface OptionalValue {
  default: string;
  // A word after the bare flag that looks like its value: refused, since it would be read as an argument.
  looksLikeValue: RegExp;
  example: string;
  // What the bare flag does, for the error: "waits up to 60s".
  bare: string;
}

// Node's parseArgs knows no optional values: a bare flag becomes --flag=DEFAULT before it parses.
export function expandOptionalValues(args: string[], optional: Record<string, OptionalValue>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return [...out, ...args.slice(i)];
    const flag = arg.startsWith('--') && Object.hasOwn(optional, arg.slice(2)) ? optional[arg.slice(2)] : undefined;
    if (!flag) {
      out.push(arg);
      continue;
    }
    if (i + 1 < args.length && flag.looksLikeValue.test(args[i + 1]))
      throw new UsageError(`${arg} takes its value after "=": ${flag.example} (a bare ${arg} ${flag.bare})`);
    out.push(`${arg}=${flag.default}`);
  }
  return out;
}
