import { strict as assert } from 'node:assert';
import { renderFields, renderTable } from '../../../ctl/output';

describe('ctl output', () => {
  it('renders a table of 200,000 rows (a large endpoint list) without overflowing the stack', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [42, `02:00:00:${i.toString(16).padStart(6, '0')}`, 'h1']);
    const out = renderTable(['VNI', 'MAC', 'NODE'], rows);
    const lines = out.split('\n');
    assert.equal(lines.length, 200_002);
    assert.equal(lines[0], 'VNI  MAC              NODE');
    assert.equal(lines[200_000], '42   02:00:00:030d3f  h1');
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
});
