import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '../../../common/proto';
import { repoRoot } from '../../../common/paths';
import { requirePrograms } from '../../helpers/require-root';
import { CtlTestServers } from '../../helpers/ctl-server';

const run = (file: string, args: string[], env: NodeJS.ProcessEnv) =>
  new Promise<{ stdout: string; stderr: string; ms: number }>((resolve, reject) => {
    const started = Date.now();
    execFile(file, args, { env, timeout: 30_000 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${file} failed: ${stderr || err.message}`))
        : resolve({ stdout, stderr, ms: Date.now() - started }),
    );
  });

// The scripts `ctl completion bash|zsh` prints, sourced in the real shells, with the words of a command
// line in COMP_WORDS as bash (or zsh's bashcompinit) gives them; ctl on PATH is the real one, asking a
// server in this process.
for (const shell of ['bash', 'zsh'] as const) {
  describe(`ctl completion in ${shell}`, function () {
    this.timeout(60_000);
    const servers = new CtlTestServers();
    let dir: string;
    let at: string[];
    let env: NodeJS.ProcessEnv;
    let script: string;

    before(async function () {
      requirePrograms(this, { [shell]: shell });
      await servers.start();
      dir = servers.dir;
      const served = await servers.serve([
        [
          v1().VniService.service,
          {
            ListVnis: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
              cb(null, { vnis: [42, 4242, 7].map((id) => ({ id, name: `vni-${id}` })), nextPageToken: '' }),
          },
        ],
        [
          v1().NodeService.service,
          {
            ListNodes: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
              cb(null, { nodes: [{ name: 'host1' }, { name: 'host2' }, { name: 'edge' }] }),
          },
        ],
      ]);
      at = served.filter((a) => a !== '--timeout' && a !== '10s');
      const bin = path.join(dir, 'bin');
      fs.mkdirSync(bin);
      fs.writeFileSync(
        path.join(bin, 'ctl'),
        `#!/bin/sh\nexec '${process.execPath}' '${path.join(repoRoot, 'bin', 'ctl')}' "$@"\n`,
        { mode: 0o755 },
      );
      env = {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        VXGOSSIP_SERVER: '',
        VXGOSSIP_CREDENTIALS: '',
        VXGOSSIP_TOKEN: '',
        HOME: dir,
      };
      script = path.join(dir, `ctl.${shell}`);
      fs.writeFileSync(script, (await run(path.join(bin, 'ctl'), ['completion', shell], env)).stdout);
    });

    after(() => servers.stop());

    // COMPREPLY after TAB at the end of `words` (the last one being the word under the cursor), with
    // COMP_WORDS as each shell splits the line: bash at ':' and '=' too, zsh's bashcompinit only at spaces.
    async function complete(...words: string[]): Promise<string[]> {
      const line = ['ctl', ...words].join(' ');
      const split = shell === 'bash' ? line.split(/ |(?=[:=])|(?<=[:=])/) : line.split(' ');
      const compWords = split.map((w) => `'${w}'`).join(' ');
      const setup = shell === 'zsh' ? 'autoload -U compinit && compinit -u -D; ' : '';
      const body =
        `${setup}source '${script}'; COMP_LINE='${line}'; COMP_POINT=${line.length}; ` +
        `COMP_WORDS=(${compWords}); COMP_CWORD=${split.length - 1}; _ctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const { stdout, stderr } = await run(shell, ['-c', body], env);
      assert.equal(stderr, '', `${shell} wrote to the terminal`);
      return stdout.split('\n').filter((l) => l !== '');
    }

    it('completes groups and subcommands, skipping global flags and their values', async () => {
      assert.deepEqual(await complete('vn'), ['vni']);
      assert.deepEqual(await complete('endpoint', 'at'), ['attach']);
      assert.deepEqual(await complete('--server', '198.18.0.10:50051', 'vni', 'cr'), ['create']);
      assert.deepEqual(await complete('-o', 'json', '--timeout', '2s', 'node', ''), ['list', 'revoke']);
      assert.deepEqual(await complete('-o', 'y'), ['yaml']);
      assert.deepEqual(await complete('completion', ''), ['bash', 'zsh']);
      assert.deepEqual(await complete('he'), ['help']);
      assert.deepEqual(await complete('help', 'vni', 'up'), ['update']);
    });

    it("completes a command's flags and the global ones", async () => {
      assert.deepEqual(await complete('vni', 'create', '42', '--mo'), ['--mode']);
      assert.deepEqual(await complete('--server', '198.18.0.10:50051', 'vni', 'delete', '--cas'), ['--cascade']);
      assert.ok((await complete('vni', 'list', '--')).includes('--server'));
    });

    it('completes VNIs and node names from the server named by the global flags typed', async () => {
      assert.deepEqual(await complete(...at, 'vni', 'show', ''), ['42', '4242', '7']);
      assert.deepEqual(await complete('vni', 'delete', ...at, '4'), ['42', '4242']);
      assert.deepEqual(await complete(...at, 'fdb', 'show', '--vni', '7'), ['7']);
      assert.deepEqual(await complete(...at, 'fdb', 'show', '--on', 'ho'), ['host1', 'host2']);
      assert.deepEqual(await complete(...at, 'endpoint', 'list', '--node', ''), ['host1', 'host2', 'edge']);
      assert.deepEqual(await complete(...at, 'node', 'revoke', 'e'), ['edge']);
    });

    if (shell === 'zsh')
      it('registers with zsh completion when sourced', async () => {
        const body = `autoload -U compinit && compinit -u -D; source '${script}'; print -r -- $_comps[ctl]`;
        assert.match((await run('zsh', ['-c', body], env)).stdout, /_bash_complete -F _ctl/);
      });

    it('completes nothing, quickly and silently, when the server is down', async () => {
      const started = Date.now();
      assert.deepEqual(
        await complete('--server', '127.0.0.1:1', '--tls-ca', path.join(dir, 'ca.crt'), 'vni', 'show', ''),
        [],
      );
      assert.ok(Date.now() - started < 10_000);
    });
  });
}
