import { strict as assert } from 'node:assert';
import { holdSignalDuringStart, planReload, reloadOnSignal } from '../../../common/config-reload';
import { createLogger } from '../../../common/log';
import { EventEmitter } from 'node:events';

describe('configuration reload', () => {
  const live = ['log-level', 'log-format'];

  it('sorts what changed into what applies now and what needs a restart', () => {
    const plan = planReload(
      { 'log-level': 'info', listen: 'a:1', 'data-dir': '/d', metrics: undefined },
      { 'log-level': 'debug', listen: 'a:2', 'data-dir': '/d', metrics: 'm:1' },
      live,
    );
    assert.deepEqual(plan.live, [{ key: 'log-level', from: 'info', to: 'debug' }]);
    assert.deepEqual(plan.restart, ['listen', 'metrics']);
  });

  it('sees nothing when nothing changed', () => {
    assert.deepEqual(planReload({ a: '1' }, { a: '1' }, live), { live: [], restart: [] });
  });

  describe('on the signal', () => {
    const setup = (load: () => Record<string, unknown>, prepare?: () => () => Record<string, unknown>) => {
      const lines: Array<Record<string, unknown>> = [];
      const log = createLogger({ component: 't', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
      const signals = new EventEmitter();
      const applied: Array<Record<string, unknown>> = [];
      reloadOnSignal({
        current: { 'log-level': 'info', listen: 'a:1' },
        load,
        live,
        prepare: (next) => {
          const extra = prepare?.();
          return () => {
            applied.push(next);
            return extra?.() ?? {};
          };
        },
        log,
        signals,
      });
      return { lines, applied, hup: () => signals.emit('SIGHUP') };
    };

    it('applies what can change live and names what needs a restart', () => {
      const t = setup(() => ({ 'log-level': 'debug', listen: 'a:2' }));
      t.hup();
      assert.equal(t.applied.length, 1);
      const done = t.lines.find((l) => l.msg === 'configuration reloaded');
      assert.deepEqual(done?.changed, { 'log-level': { from: 'info', to: 'debug' } });
      const restart = t.lines.find((l) => l.level === 'warn');
      assert.match(String(restart?.msg), /take effect only after a restart/);
      assert.deepEqual(restart?.keys, ['listen']);
    });

    it('compares the next reload with the configuration it applied', () => {
      const t = setup(() => ({ 'log-level': 'debug', listen: 'a:1' }));
      t.hup();
      t.hup();
      assert.deepEqual(t.lines.at(-1)?.changed, {});
    });

    it('keeps the running configuration when the new one is bad', () => {
      const t = setup(() => {
        throw new Error('config file /x: unknown key "nope"');
      });
      t.hup();
      assert.equal(t.applied.length, 0);
      assert.equal(t.lines[0].level, 'error');
      assert.match(String(t.lines[0].msg), /reload failed: the running configuration is kept/);
      assert.match(String(t.lines[0].error), /unknown key "nope"/);
    });

    it('keeps it when what would change live does not validate', () => {
      const t = setup(
        () => ({ 'log-level': 'loud', listen: 'a:1' }),
        () => {
          throw new Error('invalid log level "loud"');
        },
      );
      t.hup();
      assert.equal(t.applied.length, 0);
      assert.match(String(t.lines[0].error), /invalid log level/);
    });
  });

  it('holds a SIGHUP that comes while the daemon starts: logged, not fatal, until released', () => {
    const lines: string[] = [];
    const before = process.listenerCount('SIGHUP');
    const release = holdSignalDuringStart('SIGHUP', createLogger({ component: 't', write: (l) => lines.push(l) }));
    assert.equal(process.listenerCount('SIGHUP'), before + 1, 'a listener keeps Node from exiting on SIGHUP');
    process.emit('SIGHUP', 'SIGHUP');
    assert.match(lines[0], /SIGHUP while starting: ignored/);
    release();
    assert.equal(process.listenerCount('SIGHUP'), before);
  });
});
