import { strict as assert } from 'node:assert';
import { createLogger, parseLogFormat } from '../../../common/log';
import { formatText } from '../../../common/log-text';

describe('log formats', () => {
  it('writes one human line per record: time level msg key=value', () => {
    const line = formatText({
      time: '2026-01-02T03:04:05.678Z',
      level: 'warn',
      msg: 'peer gone',
      component: 'node-agent',
      peer: 'h2',
      after: 1500,
      up: false,
      reason: 'no answer in 2 s',
      empty: '',
      nested: { a: 1 },
    });
    assert.equal(
      line,
      '2026-01-02T03:04:05.678Z WARN peer gone component=node-agent peer=h2 after=1500 up=false ' +
        'reason="no answer in 2 s" empty="" nested={"a":1}',
    );
  });

  it('keeps a record on one line whatever its text holds', () => {
    const line = formatText({ time: 't', level: 'error', msg: 'two\nlines', error: 'a\nb "q"' });
    assert.equal(line, 't ERROR two\\nlines error="a\\nb \\"q\\""');
  });

  it('logs text when asked, JSON by default', () => {
    const lines: string[] = [];
    createLogger({ component: 'c', write: (l) => lines.push(l) }).info('hello', { n: 1 });
    createLogger({ component: 'c', format: 'text', write: (l) => lines.push(l) }).info('hello', { n: 1 });
    assert.deepEqual(JSON.parse(lines[0]), {
      ...JSON.parse(lines[0]),
      level: 'info',
      msg: 'hello',
      component: 'c',
      n: 1,
    });
    assert.match(lines[1], /^\S+Z INFO hello component=c n=1$/);
  });

  it('changes level and format in place, for every child', () => {
    const lines: string[] = [];
    const root = createLogger({ component: 'c', write: (l) => lines.push(l) });
    const child = root.child({ part: 'p' });
    child.debug('hidden');
    root.reconfigure({ level: 'debug', format: 'text' });
    child.debug('shown');
    assert.equal(lines.length, 1);
    assert.match(lines[0], / DEBUG shown component=c part=p$/);
  });

  it('refuses a format it does not know', () => {
    assert.equal(parseLogFormat(undefined), 'json');
    assert.equal(parseLogFormat('text'), 'text');
    assert.throws(() => parseLogFormat('xml'), /invalid log format "xml": expected json or text/);
  });
});
