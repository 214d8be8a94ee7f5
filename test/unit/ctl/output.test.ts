import { strict as assert } from 'node:assert';
import { parse } from 'yaml';
import { checkOutputFormat, renderFields, renderTable, renderYaml } from '../../../ctl/output';
import { int64, time } from '../../../ctl/views/values';

describe('ctl output', () => {
  it('renders a table of 200,000 rows (a large endpoint list) without overflowing the stack', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [42, `02:00:00:${i.toString(16).padStart(6, '0')}`, 'h1']);
    const out = renderTable(['VNI', 'MAC', 'NODE'], rows);
    const lines = out.split('\n');
    assert.equal(lines.length, 200_002);
    assert.equal(lines[0], 'VNI  MAC              NODE');
    assert.equal(lines[200_000], '42   02:00:00:030d3f  h1');
  });

  it('prints nothing for an empty table without headers, and the header alone with them', () => {
    assert.equal(renderTable(['VNI', 'NAME'], [], true), '');
    assert.equal(renderTable(['VNI', 'NAME'], []), 'VNI  NAME\n');
  });

  it('pads field names to the longest', () => {
    assert.equal(
      renderFields([
        ['id', 42],
        ['revision', 3],
      ]),
      'id:        42\nrevision:  3\n',
    );
  });

  it('writes YAML that reads back as the same data, strings YAML would misread included', () => {
    const value = {
      words: ['yes', 'no', 'on', 'null', '~', 'true', '0x10', '1e3', '012', '1.0', '02:00:00:00:00:01', '- x', '#c'],
      nested: [{ a: null, b: [] }, {}],
      mtu: 'auto',
      n: 1400,
    };
    // Read back alike by a YAML 1.2 reader and by a 1.1 one (as PyYAML is).
    assert.deepEqual(parse(renderYaml(value)), value);
    assert.deepEqual(parse(renderYaml(value), { version: '1.1' }), value);
  });

  it('prints 64-bit integers as numbers and refuses one a JSON number cannot hold exactly', () => {
    assert.equal(int64('revision', '9007199254740991'), 9007199254740991);
    assert.throws(() => int64('revision', '9007199254740993'), /revision 9007199254740993, beyond .*2\^53/);
    assert.equal(time('createTimeMs', '0'), null);
    assert.equal(time('createTimeMs', '1700000000000'), '2023-11-14T22:13:20.000Z');
  });

  it('names every valid format for an unknown one', () => {
    assert.equal(checkOutputFormat('wide'), 'wide');
    assert.throws(
      () => checkOutputFormat('xml'),
      /-o xml: unknown output format; use one of table, wide, json, yaml, name/,
    );
  });
});
