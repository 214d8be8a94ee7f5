import type { Command, FlagValues, Group, Options } from './command';

// Values the server holds: a VNI (--vni, vni show <vni>) or a node's name (--on, --node, node revoke).
export type Lookup = 'vnis' | 'nodes';

// What the word under the cursor may become: fixed words, or names only the server knows, with the
// global flags typed so far (the server to ask and how).
export type Candidates = { words: string[] } | { lookup: Lookup; prefix: string; globals: FlagValues };

const FLAG_LOOKUPS: Record<string, Lookup> = { vni: 'vnis', on: 'nodes', node: 'nodes' };
const FLAG_WORDS: Record<string, string[]> = { output: ['table', 'json', 'yaml'] };
// Where bash splits a word (its COMP_WORDBREAKS): a completion there would replace only a part.
const WORD_BREAK = /[:=]/;

interface Reading {
  group?: Group;
  command?: Command;
  positionals: string[];
  globals: FlagValues;
  // The flag whose value the next word is.
  pending?: string;
}

function flagNamed(typed: string, options: Options): string | undefined {
  if (typed.startsWith('--')) return typed.slice(2) in options ? typed.slice(2) : undefined;
  return Object.entries(options).find(([, o]) => o.short !== undefined && `-${o.short}` === typed)?.[0];
}

// Reads the words before the cursor as main() does: flags (and the values of those that take one) may
// stand anywhere; the other words are the group, the subcommand, then positional arguments.
function read(before: string[], groups: Group[], globalOptions: Options): Reading | undefined {
  const r: Reading = { positionals: [], globals: {} };
  for (const word of before) {
    if (r.pending !== undefined) {
      if (r.pending in globalOptions) r.globals[r.pending] = word;
      r.pending = undefined;
    } else if (word.startsWith('-') && word !== '-') {
      const [typed, ...inline] = word.split('=');
      const name = flagNamed(typed, { ...globalOptions, ...r.command?.options });
      const takesValue = name !== undefined && { ...globalOptions, ...r.command?.options }[name].type === 'string';
      if (takesValue && inline.length === 0) r.pending = name;
      else if (takesValue && name in globalOptions) r.globals[name] = inline.join('=');
    } else if (!r.group && word === 'help') {
      // `ctl help vni create` names a command as `ctl vni create` does.
      continue;
    } else if (!r.group) {
      r.group = groups.find((g) => g.name === word);
      if (!r.group) return undefined;
      if (r.group.single) r.command = r.group.commands[0];
    } else if (!r.command) {
      r.command = r.group.commands.find((c) => c.name === word);
      if (!r.command) return undefined;
    } else {
      r.positionals.push(word);
    }
  }
  return r;
}

function fixed(r: Reading, current: string, groups: Group[], globalOptions: Options): string[] {
  if (current.startsWith('-')) {
    const options = { ...r.command?.options, ...globalOptions };
    return Object.keys(options).map((name) => `--${name}`);
  }
  if (!r.group) return [...groups.map((g) => g.name), 'help'];
  if (!r.command) return r.group.commands.map((c) => c.name);
  const positional = r.command.completes;
  return Array.isArray(positional) && r.positionals.length === 0 ? positional : [];
}

// The candidates for the last of `typed` (the words after `ctl`, the last one under the cursor).
export function completionCandidates(typed: string[], groups: Group[], globalOptions: Options): Candidates {
  const current = typed.at(-1) ?? '';
  const r = read(typed.slice(0, -1), groups, globalOptions);
  if (!r || WORD_BREAK.test(current)) return { words: [] };
  const lookup =
    r.pending !== undefined
      ? FLAG_LOOKUPS[r.pending]
      : !current.startsWith('-') && r.positionals.length === 0 && typeof r.command?.completes === 'string'
        ? r.command.completes
        : undefined;
  if (lookup) return { lookup, prefix: current, globals: r.globals };
  const words = r.pending !== undefined ? (FLAG_WORDS[r.pending] ?? []) : fixed(r, current, groups, globalOptions);
  return { words: words.filter((w) => w.startsWith(current)) };
}
