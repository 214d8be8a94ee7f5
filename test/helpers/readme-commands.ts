// The ctl command lines a reader of the README would type: every `ctl …` in its shell blocks and inline
// code, and every line of its ctl synopsis, with the synopsis' placeholders filled in with real values.

// A value for each placeholder, by the flag it follows or by its own name.
const FLAG_VALUES: Record<string, string> = {
  '--vni': '42',
  '--node': 'h1',
  '--on': 'h1',
  '--mac': '02:00:00:00:00:01',
  '--netns': 'ns1',
  '--ip': '10.42.0.5/24',
  '--interface': 'eth1',
  '--name': 'demo',
  '--mtu': '1400',
  '--dstport': '4790',
  '--mode': 'l2',
  '--group': '239.1.1.1',
  '--subnet': '10.42.0.0/24',
  '--datapath': 'lwt',
  '--expect-revision': '1',
  '--from-revision': '1',
  '--uses': '1',
  '--ttl': '1h',
};
const KEY = 'AAECAwQFBgcICQoLDA0ODw==';
const POSITIONALS: Record<string, string> = {
  '<vni>': '42',
  N: '42',
  V: '42',
  NAME: 'h1',
  NODE: 'h1',
  KEY,
  NEW: KEY,
  OLD: KEY,
};

// `a | b` at the top level of a synopsis line (not inside brackets), split.
function topLevelAlternatives(line: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '[' || line[i] === '(') depth++;
    else if (line[i] === ']' || line[i] === ')') depth--;
    else if (depth === 0 && line.startsWith(' | ', i)) {
      parts.push(line.slice(start, i));
      start = i + 3;
    }
  }
  return [...parts, line.slice(start)].map((p) => p.trim());
}

// Optional parts taken (the first choice of `[a | b]`), placeholders filled in.
function concrete(words: string): string[] {
  const flat = words
    .replace(/\[([^[\]]*?) \| [^[\]]*\]/g, '$1')
    .replace(/[[\]()]/g, ' ')
    .trim()
    .split(/\s+/);
  return flat.map((w, i) => {
    const previous = flat[i - 1] ?? '';
    if (w.startsWith('-')) return w;
    if (previous in FLAG_VALUES && /^[A-Z<]|\|/.test(w)) return FLAG_VALUES[previous];
    if (w in POSITIONALS) return POSITIONALS[w];
    return w.includes('|') ? w.split('|')[0] : w;
  });
}

// The synopsis block after "## ctl": "  group sub [flags]   description", continued on lines that start
// with more spaces and a bracket; alternatives "vni list | show <vni>" are commands of their own.
function synopsisCommands(readme: string): string[][] {
  const block = /## ctl\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const lines: string[] = [];
  for (const raw of block.split('\n')) {
    const [usage] = raw.trim().split(/\s{3,}/);
    if (/^ {2}[a-z]/.test(raw)) lines.push(usage);
    else if (/^ {3,}\[/.test(raw) && lines.length > 0) lines[lines.length - 1] += ` ${usage}`;
  }
  return lines.flatMap((line) => {
    const [first, ...others] = topLevelAlternatives(line);
    const group = first.split(' ')[0];
    return [first, ...others.map((o) => (o.startsWith('--') || o.startsWith(group) ? o : `${group} ${o}`))]
      .filter((c) => !c.startsWith('help') && !c.includes('--version'))
      .map(concrete);
  });
}

// `ctl …` in shell blocks (continuations joined, comments dropped, pipelines split) or in inline code.
function ctlSegments(lines: string[]): string[][] {
  return (
    lines
      .map((line) => line.replace(/\s#.*$/, ''))
      .flatMap((line) => line.split(/;|&&|\|(?![^[]*\])/))
      .map((segment) => segment.trim().replace(/^(bin\/)?ctl\s+/, 'ctl '))
      // A keystroke shown for completion (`vni cr<TAB>`) or the completion's own hidden command is no
      // command line to type.
      .filter((segment) => segment.startsWith('ctl ') && !segment.includes('<TAB>') && !segment.includes(' __'))
      .map((segment) => concrete(segment.slice(4)))
  );
}

export interface ReadmeCommand {
  argv: string[];
  // example: a line of a shell block, to be typed as it is; synopsis: every flag of a synopsis line at
  // once (some exclude each other); mention: a command named in a sentence, perhaps without arguments.
  kind: 'example' | 'synopsis' | 'mention';
}

// Credentials are the caller's: a README path such as /var/lib/vxgossip/server/operator is dropped.
export function readmeCtlCommands(readme: string): ReadmeCommand[] {
  const shell = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].replace(/\\\n\s*/g, ' ').split('\n'));
  const inline = [...readme.matchAll(/`(ctl [^`]+)`/g)].map((m) => m[1]);
  const all = [
    ...ctlSegments(shell).map((argv) => ({ argv, kind: 'example' as const })),
    ...synopsisCommands(readme).map((argv) => ({ argv, kind: 'synopsis' as const })),
    ...ctlSegments(inline).map((argv) => ({ argv, kind: 'mention' as const })),
  ];
  const seen = new Set<string>();
  return all
    .map((c) => ({ ...c, argv: c.argv.filter((w, i, a) => w !== '--credentials' && a[i - 1] !== '--credentials') }))
    .filter(({ argv }) => {
      const key = argv.join(' ');
      if (argv.length === 0 || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}
