import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { readmeCtlCommands } from '../helpers/readme-commands';
import { ServerHandle, startServer } from '../../lab/server-process';
import { removeTempDir } from '../../lab/temp-dir';
import { ctl } from '../helpers/ctl-binary';

const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

// Every ctl command line the README shows is typed, in the README's order, against a real server. A
// shell block's line may not be a usage error (exit 2); a synopsis line (all its flags at once) or a
// command named in a sentence may not use a word or flag ctl does not know. Those that need a connected
// agent fail with exit 1, as they would on a cluster without one.
describe("the README's commands", function () {
  this.timeout(180_000);
  let server: ServerHandle;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.proc.stop();
    if (server) removeTempDir(server.dataDir);
  });

  it('finds the command lines of its shell blocks, inline code and ctl synopsis', () => {
    const commands = readmeCtlCommands(readme).map((c) => c.argv.join(' '));
    for (const expected of [
      'vni create 42',
      'fdb diff --vni 42',
      'endpoint list --vni 42 --node h1 --mac 02:00:00:00:00:01',
    ])
      assert.ok(commands.includes(expected), expected);
  });

  it('are all commands ctl takes, with flags it knows', () => {
    const wrong: string[] = [];
    for (const { argv, kind } of readmeCtlCommands(readme)) {
      // `watch` follows until stopped: cut short, after it has parsed and connected.
      const r = ctl([...server.ctlArgs, '--timeout', '3s', ...argv], {}, argv[0] === 'watch' ? 2_000 : 20_000);
      const unknown = /unknown (command|subcommand|flag)|did you mean/.test(r.stderr);
      // A sentence may name a flag without its value ("`ctl fdb show --on`"); a synopsis may not.
      const misused = kind !== 'mention' && /needs a value|takes no value/.test(r.stderr);
      if (unknown || misused || (kind === 'example' && r.status === 2))
        wrong.push(`ctl ${argv.join(' ')} → exit ${r.status}: ${r.stderr.trim()}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('shows the daemons only with flags they take', () => {
    const lines = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
      .flatMap((m) => m[1].replace(/\\\n\s*/g, ' ').split('\n'))
      .map((l) => l.replace(/\s#.*$/, '').trim());
    const wrong: string[] = [];
    for (const daemon of ['server', 'node-agent']) {
      const help = spawnSync(process.execPath, [path.join(repoRoot, 'bin', daemon), '--help'], {
        encoding: 'utf8',
      }).stdout;
      for (const line of lines.filter((l) => l.startsWith(`bin/${daemon} `) || l.startsWith(`vxgossip-${daemon} `)))
        for (const flag of line.match(/--[a-z][a-z-]*/g) ?? [])
          if (flag !== '--help' && !help.includes(flag)) wrong.push(`${daemon}: ${flag} (${line})`);
    }
    assert.deepEqual(wrong, []);
  });
});
