import * as grpc from '@grpc/grpc-js';
import { UsageError, parseFlags, silenceIpServerNameWarning } from '../common/cli';
import { serverAddress } from '../common/grpc-client';
import { checkInteger, parseDuration } from '../common/validation';
import { clientCredentials } from '../common/tls';
import { tokenClientInterceptor } from '../common/token-auth';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command, Context, FlagValues, Group, Options } from './command';
import { EXIT_USAGE, EXIT_CODES_HELP, describeFailure } from './errors';
import { checkOutputFormat } from './output';
import { vniGroup } from './vni-commands';
import { endpointGroup } from './endpoint-commands';
import { ipamGroup } from './ipam-commands';
import { fdbGroup } from './fdb-commands';
import { nodeGroup } from './node-commands';
import { tokenGroup } from './token-commands';
import { statusGroup, watchGroup } from './status-commands';
import { keysGroup } from './keys-commands';
import { completionGroup } from './completion-command';
import { completeLine } from './completion-lookup';
import { traceGroup } from './truth-commands';
import { versionGroup } from './version-command';
import { didYouMean } from './suggest';
import { expandOptionalValues } from './optional-flag-values';
import { serverTarget } from './server-target';
import { ServerChoice } from './server-choice';
import { MAX_SERVERS, parseServerList } from '../common/server-list';

const groups: Group[] = [
  vniGroup,
  nodeGroup,
  endpointGroup,
  ipamGroup,
  fdbGroup,
  traceGroup,
  statusGroup,
  watchGroup,
  keysGroup,
  tokenGroup,
  versionGroup,
];
const globalOptions: Options = {
  server: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'no-headers': { type: 'boolean' },
  timeout: { type: 'string' },
  credentials: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'token-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};
// Every global flag that takes a value, as typed on the command line.
const valueFlags = new Set(
  Object.entries(globalOptions)
    .filter(([, o]) => o.type === 'string')
    .flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]),
);
groups.push(completionGroup);
const GLOBAL_HELP = `Global flags:
  --server HOST:PORT[,HOST:PORT...]   the vxgossip server (default: $VXGOSSIP_SERVER, else
                       127.0.0.1:50051); https://HOST:PORT is accepted too (the server speaks only
                       TLS). Several (its replicas, at most ${MAX_SERVERS}): ctl uses the first that answers
                       and sends each request once, to it; a watch resumes on another if its
                       stream breaks
  -o, --output FORMAT  table (default), wide (a table with more columns), json, yaml, or name
                       (kind/name per line, e.g. vni/42)
  --no-headers         tables without their header line
  --timeout DURATION   how long to wait for the server, e.g. 5s, 500ms, 1m (default 5s; a plain
                       number counts as milliseconds)
  --credentials DIR    an operator credential: DIR/ca.crt, DIR/operator.crt, DIR/operator.key, as the
                       server writes to its DATA/operator (default: $VXGOSSIP_CREDENTIALS)
  --tls-ca FILE        verify the server with this CA instead (default: $VXGOSSIP_TLS_CA)
  --tls-cert FILE, --tls-key FILE   an operator certificate ($VXGOSSIP_TLS_CERT, $VXGOSSIP_TLS_KEY)
  --token-file FILE    the server's bearer token, instead of a certificate (default: $VXGOSSIP_TOKEN)
  -h, --help           help for any command (or: ctl help <command> [<subcommand>])
  --version            the version of ctl and of the server

${EXIT_CODES_HELP}`;

function topHelp(): string {
  const lines = groups.flatMap((g) => [`  ${g.name.padEnd(10)} ${g.summary}`]);
  return `Usage: ctl [flags] <command> <subcommand> [args]\n\nThe vxgossip command line.\n\nCommands:\n${lines.join('\n')}\n\n${GLOBAL_HELP}\n`;
}

function groupHelp(group: Group): string {
  const lines = group.commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
  return `Usage: ctl ${group.name} <subcommand> [args]\n\n${group.summary}\n\nSubcommands:\n${lines.join('\n')}\n\n${GLOBAL_HELP}\n`;
}

function commandHelp(command: Command): string {
  return `Usage: ${command.usage}\n\n${command.summary}\n${command.details ? `\n${command.details}\n` : ''}\n${GLOBAL_HELP}\n`;
}

// The first two words that are not flags (nor a global flag's value) pick the group and command,
// so global flags may stand anywhere on the line. A one-word command (status, trace) takes every
// later word as its own argument, in place: its flags' values stay after their flags.
function splitWords(argv: string[]): { words: string[]; rest: string[] } {
  const words: string[] = [];
  const rest: string[] = [];
  // `help` takes the command it is asked about.
  const wordsWanted = () => (words[0] === 'help' ? 3 : groups.find((g) => g.name === words[0])?.single ? 1 : 2);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (valueFlags.has(arg)) {
      rest.push(arg, ...(i + 1 < argv.length ? [argv[++i]] : []));
    } else if (arg.startsWith('-') || words.length === wordsWanted()) {
      rest.push(arg);
    } else {
      words.push(arg);
    }
  }
  return { words, rest };
}

// --timeout 5s; a plain number is milliseconds, as the flag took before it took units.
function timeoutFrom(value: string | undefined): number {
  if (value === undefined) return 5000;
  if (/^\s*\d+\s*$/.test(value)) return checkInteger('--timeout', value, 1, 3_600_000);
  return parseDuration('--timeout', value, 1, 3_600_000);
}

// The global flags (and their environment variables): where the server is and how to talk to it.
function connectionFrom(values: FlagValues): Omit<Context, 'out' | 'command'> {
  const addresses = parseServerList('--server', serverAddress(values.server as string | undefined), serverTarget);
  const timeoutMs = timeoutFrom(values.timeout as string | undefined);
  let output;
  try {
    output = checkOutputFormat(values.output as string | undefined);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const env = process.env;
  // An empty variable counts as unset, as VXGOSSIP_SERVER does: it must not hide --credentials.
  const dir = (values.credentials as string | undefined) ?? (env.VXGOSSIP_CREDENTIALS || undefined);
  const inDir = (file: string) => (dir ? path.join(dir, file) : undefined);
  const tls = {
    ca: (values['tls-ca'] as string | undefined) ?? (env.VXGOSSIP_TLS_CA || undefined) ?? inDir('ca.crt'),
    cert: (values['tls-cert'] as string | undefined) ?? (env.VXGOSSIP_TLS_CERT || undefined) ?? inDir('operator.crt'),
    key: (values['tls-key'] as string | undefined) ?? (env.VXGOSSIP_TLS_KEY || undefined) ?? inDir('operator.key'),
  };
  // Made when a command first dials the server: commands that never do (completion) need none.
  let credentials: grpc.ChannelCredentials | undefined;
  const credentialsOnce = (): grpc.ChannelCredentials => {
    if (credentials) return credentials;
    if (!tls.ca)
      throw new UsageError(
        'the server speaks only TLS: give --credentials DIR (an operator credential, as the server writes to its DATA/operator) or --tls-ca FILE with --tls-cert/--tls-key or --token-file',
      );
    try {
      credentials = clientCredentials(tls);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    return credentials;
  };
  let token = env.VXGOSSIP_TOKEN;
  if (values['token-file']) {
    try {
      token = fs.readFileSync(values['token-file'] as string, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`--token-file ${String(values['token-file'])}: ${(err as Error).message}`);
    }
  }
  const clientOptions: grpc.ClientOptions = token ? { interceptors: [tokenClientInterceptor(token)] } : {};
  const noHeaders = values['no-headers'] === true;
  const servers = new ServerChoice(addresses, { credentials: credentialsOnce, options: clientOptions, timeoutMs });
  return { servers, output, noHeaders, timeoutMs };
}

// Help, or the usage error for an unknown command; undefined when a command is to run.
function help(
  group: Group | undefined,
  groupName: string | undefined,
  command: Command | undefined,
  commandName: string | undefined,
  wantsHelp: boolean,
): number | undefined {
  if (!group) {
    if (groupName === undefined || groupName === 'help') {
      process.stdout.write(topHelp());
      return groupName === undefined && !wantsHelp ? EXIT_USAGE : 0;
    }
    const names = groups.map((g) => g.name);
    throw new UsageError(
      `unknown command "${groupName}"${didYouMean(groupName, names)}; commands: ${names.join(', ')}`,
    );
  }
  if (!command) {
    if (commandName === undefined || wantsHelp) {
      process.stdout.write(groupHelp(group));
      return wantsHelp ? 0 : EXIT_USAGE;
    }
    const names = group.commands.map((c) => c.name);
    throw new UsageError(
      `unknown subcommand "${group.name} ${commandName}"${didYouMean(commandName, names)}; subcommands: ${names.join(', ')}`,
    );
  }
  if (wantsHelp) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  return undefined;
}

// Node's parseArgs messages quote oddly (one is left unclosed) and know no "did you mean".
function parseCommandFlags(rest: string[], options: Options) {
  try {
    return parseFlags({ args: rest, options, allowPositionals: true });
  } catch (err) {
    const message = (err as Error).message;
    const flag = /^Unknown option '([^']+)'/.exec(message)?.[1];
    if (flag) {
      const known = Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
      throw new UsageError(`unknown flag ${flag}${didYouMean(flag, known)}`);
    }
    const missing = /^Option '(-\w, )?(--[\w-]+)[^']*' argument missing/.exec(message)?.[2];
    if (missing) throw new UsageError(`${missing} needs a value`);
    const noValue = /^Option '(-\w, )?(--[\w-]+)[^']*' does not take an argument/.exec(message)?.[2];
    if (noValue) throw new UsageError(`${noValue} takes no value`);
    throw err;
  }
}

async function main(argv: string[]): Promise<number> {
  // What the completion scripts ask at every TAB (ctl completion); not a command for people.
  if (argv[0] === '__complete' && argv.length === 2) {
    process.stdout.write(await completeLine(argv[1], groups, globalOptions, connectionFrom));
    return 0;
  }
  const { words, rest } = splitWords(argv);
  if (words.length === 0 && rest.includes('--version')) words.push('version');
  // `ctl help vni [create]` is `ctl vni [create] --help`.
  if (words[0] === 'help' && words.length > 1) {
    words.shift();
    rest.push('--help');
  }
  const [groupName] = words;
  const group = groups.find((g) => g.name === groupName);
  const commandName = group?.single ? group.commands[0].name : words[1];
  const command = group?.commands.find((c) => c.name === commandName);
  const wantsHelp = rest.includes('--help') || rest.includes('-h');

  const helped = help(group, groupName, command, commandName, wantsHelp);
  if (helped !== undefined) return helped;
  if (!group || !command) throw new UsageError('unreachable: help() answers for a missing command');

  const path = group.single ? group.name : `${group.name} ${command.name}`;
  try {
    const args = expandOptionalValues(rest, command.optionalValues ?? {});
    const { values, positionals } = parseCommandFlags(args, { ...globalOptions, ...command.options });
    delete values.version;
    const connection = connectionFrom(values);
    try {
      const out = (t: string) => void process.stdout.write(t);
      return (await command.run({ ...connection, out, command: path }, values, positionals)) ?? 0;
    } catch (err) {
      const { message, exitCode } = describeFailure(err, connection.servers.describe(), connection.timeoutMs);
      process.stderr.write(`ctl ${path}: ${message}\n`);
      if (exitCode === EXIT_USAGE) process.stderr.write(`Run 'ctl ${path} --help' for usage.\n`);
      return exitCode;
    }
  } catch (err) {
    // A mistake in what was typed: name the command, and point at its help.
    const { message, exitCode } = describeFailure(err, '', 0);
    process.stderr.write(`ctl ${path}: ${message}\nRun 'ctl ${path} --help' for usage.\n`);
    return exitCode;
  }
}

silenceIpServerNameWarning();
// A reader that stops early (`ctl watch fdb | head`) closes the pipe: that ends ctl quietly, as it
// does for any Unix filter, instead of an EPIPE crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
// Output to a pipe is written asynchronously: exit only once all of it is out (an empty write's
// callback runs after every earlier write), or a long listing is cut short.
const exitAfterOutput = (code: number) => process.stdout.write('', () => process.exit(code));

main(process.argv.slice(2)).then(exitAfterOutput, (err: unknown) => {
  const { message, exitCode } = describeFailure(err, '', 0);
  process.stderr.write(`ctl: ${message}\nRun 'ctl --help' for usage.\n`);
  process.exit(exitCode);
});
