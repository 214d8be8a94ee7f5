import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { envNameOf, loadDaemonConfig, whereSet, type DaemonConfigSpec } from '../../../common/daemon-config';

const SPEC: DaemonConfigSpec<{
  listen: { type: 'string'; default: string };
  'data-dir': { type: 'string' };
  'log-level': { type: 'string' };
  'max-records-per-owner': { type: 'string' };
  'insecure-gossip': { type: 'boolean' };
  'repair-database': { type: 'boolean' };
  join: { type: 'string'; list: true };
  help: { type: 'boolean'; short: 'h' };
}> = {
  name: 'test-daemon',
  envPrefix: 'VXGOSSIP_TEST_',
  options: {
    listen: { type: 'string', default: '127.0.0.1:50051' },
    'data-dir': { type: 'string' },
    'log-level': { type: 'string' },
    'max-records-per-owner': { type: 'string' },
    'insecure-gossip': { type: 'boolean' },
    'repair-database': { type: 'boolean' },
    join: { type: 'string', list: true },
    help: { type: 'boolean', short: 'h' },
  },
  commandLineOnly: ['help', 'repair-database'],
  legacyEnv: { listen: 'OLD_LISTEN' },
};

describe('daemon configuration: flags > environment > file > defaults', () => {
  let dir: string;
  const file = (text: string) => {
    const f = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(f, text);
    return f;
  };
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-config-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names an environment variable after the prefix and the flag', () => {
    assert.equal(envNameOf('VXGOSSIP_AGENT_', 'data-dir'), 'VXGOSSIP_AGENT_DATA_DIR');
    assert.equal(envNameOf('VXGOSSIP_SERVER_', 'max-records-per-owner'), 'VXGOSSIP_SERVER_MAX_RECORDS_PER_OWNER');
  });

  it('takes each option from the strongest source that sets it', () => {
    const f = file('listen: 10.0.0.1:1\ndata-dir: /from-file\nlog-level: warn\nmax-records-per-owner: 5000\n');
    const env = { VXGOSSIP_TEST_DATA_DIR: '/from-env', VXGOSSIP_TEST_LOG_LEVEL: 'debug' };
    const c = loadDaemonConfig(SPEC, ['--config', f, '--log-level', 'error'], env);
    assert.equal(c.values['log-level'], 'error');
    assert.equal(c.values['data-dir'], '/from-env');
    assert.equal(c.values.listen, '10.0.0.1:1');
    assert.equal(c.values['max-records-per-owner'], '5000', 'a number in the file is the flag text');
    assert.equal(c.file, f);
    assert.equal(whereSet(c, 'log-level'), '--log-level');
    assert.equal(whereSet(c, 'data-dir'), 'VXGOSSIP_TEST_DATA_DIR');
    assert.equal(whereSet(c, 'listen'), `key "listen" of ${f}`);
  });

  it('reads a list option from the file as a YAML list or as the flag text', () => {
    const listed = loadDaemonConfig(SPEC, ['--config', file('join:\n  - 198.18.0.1:1\n  - 198.18.0.2:1\n')], {});
    assert.equal(listed.values.join, '198.18.0.1:1,198.18.0.2:1');
    const text = loadDaemonConfig(SPEC, ['--config', file('join: 198.18.0.1:1,198.18.0.2:1\n')], {});
    assert.equal(text.values.join, '198.18.0.1:1,198.18.0.2:1');
  });

  it('falls back to the defaults of the option table', () => {
    const c = loadDaemonConfig(SPEC, [], {});
    assert.equal(c.values.listen, '127.0.0.1:50051');
    assert.equal(c.values['data-dir'], undefined);
    assert.equal(c.file, undefined);
  });

  it('finds the file by its variable too, the flag first', () => {
    const a = file('data-dir: /a\n');
    const b = file('data-dir: /b\n');
    assert.equal(loadDaemonConfig(SPEC, [], { VXGOSSIP_TEST_CONFIG: a }).values['data-dir'], '/a');
    assert.equal(loadDaemonConfig(SPEC, ['--config', b], { VXGOSSIP_TEST_CONFIG: a }).values['data-dir'], '/b');
  });

  it('reads booleans from the file and the environment', () => {
    assert.equal(
      loadDaemonConfig(SPEC, ['--config', file('insecure-gossip: true\n')], {}).values['insecure-gossip'],
      true,
    );
    const env = { VXGOSSIP_TEST_INSECURE_GOSSIP: 'false' };
    const c = loadDaemonConfig(SPEC, ['--config', file('insecure-gossip: true\n')], env);
    assert.equal(c.values['insecure-gossip'], false);
    assert.equal(loadDaemonConfig(SPEC, [], { VXGOSSIP_TEST_INSECURE_GOSSIP: '1' }).values['insecure-gossip'], true);
  });

  it('treats an empty variable as unset', () => {
    assert.equal(loadDaemonConfig(SPEC, [], { VXGOSSIP_TEST_LISTEN: '' }).values.listen, '127.0.0.1:50051');
  });

  it('keeps an older variable working below the new one', () => {
    assert.equal(loadDaemonConfig(SPEC, [], { OLD_LISTEN: 'h:1' }).values.listen, 'h:1');
    const both = { OLD_LISTEN: 'h:1', VXGOSSIP_TEST_LISTEN: 'h:2' };
    assert.equal(loadDaemonConfig(SPEC, [], both).values.listen, 'h:2');
    const f = file('listen: h:3\n');
    assert.equal(loadDaemonConfig(SPEC, ['--config', f], { OLD_LISTEN: 'h:1' }).values.listen, 'h:1');
  });

  describe('refuses bad input, naming where it is', () => {
    const refuses = (argv: string[], env: Record<string, string>, pattern: RegExp) =>
      assert.throws(
        () => loadDaemonConfig(SPEC, argv, env),
        (err: Error) => {
          assert.match(err.message, pattern);
          return true;
        },
      );

    it('an unknown key, with the keys it knows', () => {
      const f = file('data-dir: /x\nlog-levle: debug\n');
      refuses(['--config', f], {}, new RegExp(`${f}: unknown key "log-levle".*log-level`));
    });

    it('a key only the command line takes', () => {
      const f = file('repair-database: true\n');
      refuses(['--config', f], {}, new RegExp(`${f}: "repair-database" is given on the command line only`));
    });

    it('a value of the wrong type', () => {
      refuses(
        ['--config', file('data-dir: [a, b]\n')],
        {},
        /: key "data-dir" must be a string or a number, not a list/,
      );
      refuses(['--config', file('insecure-gossip: yes please\n')], {}, /key "insecure-gossip" must be true or false/);
      refuses(['--config', file('join: [a, [b]]\n')], {}, /key "join\[1\]" must be a string, not a list/);
      refuses(
        ['--config', file('listen:\n  host: a\n')],
        {},
        /key "listen" must be a string or a number, not a mapping/,
      );
    });

    it('a boolean variable that is not one', () => {
      refuses(
        [],
        { VXGOSSIP_TEST_INSECURE_GOSSIP: 'yes' },
        /VXGOSSIP_TEST_INSECURE_GOSSIP: expected true, false, 1 or 0, got "yes"/,
      );
    });

    it('a file that cannot be read', () => {
      const f = path.join(dir, 'missing.yaml');
      refuses(['--config', f], {}, new RegExp(`config file ${f}: cannot read it: .*ENOENT`));
    });

    it('a file that is not YAML, with the line', () => {
      refuses(['--config', file('data-dir: /x\nlisten: [unclosed\n')], {}, /config file .*: .*line \d+/);
    });

    it('a file that is not a mapping', () => {
      refuses(
        ['--config', file('- a\n- b\n')],
        {},
        /config file .*: expected a mapping of option names to values, not a list/,
      );
    });

    it('a key given twice', () => {
      refuses(['--config', file('data-dir: /a\ndata-dir: /b\n')], {}, /config file .*: .*unique/i);
    });

    it('a file too large to be a configuration', () => {
      refuses(['--config', file(`# ${'x'.repeat(2 << 20)}\n`)], {}, /config file .*: larger than 1 MiB/);
    });

    it('an unknown flag, as before', () => {
      refuses(['--nope'], {}, /Unknown option '--nope'/);
    });
  });
});
