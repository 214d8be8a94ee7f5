import { strict as assert } from 'node:assert';
import { indentOutput } from '../../../demo/indent-output';

describe("the demo's command output", () => {
  it('indents every line of output and leaves the next prompt at the margin', () => {
    const shown = `[h1]$ ctl vni list\n${indentOutput('VNI  NAME\n42   demo\n')}[h1]$ ctl node list\n`;
    assert.equal(shown, '[h1]$ ctl vni list\n  VNI  NAME\n  42   demo\n[h1]$ ctl node list\n');
  });

  it('keeps empty lines empty', () => {
    assert.equal(indentOutput('a\n\nb\n'), '  a\n\n  b\n');
  });
});
