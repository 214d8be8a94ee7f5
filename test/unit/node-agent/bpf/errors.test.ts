import { strict as assert } from 'node:assert';
import { bpfError } from '../../../../node-agent/bpf/errors';

const addonError = (errno: number, message: string) => Object.assign(new Error(message), { errno });

describe('BPF errors', () => {
  it('names the errno and says to run as root when the kernel says EPERM', () => {
    const e = bpfError(addonError(1, 'loading /x/datapath.bpf.o into the kernel: Operation not permitted'), 'load');
    assert.equal(e.code, 'EPERM');
    assert.match(
      e.message,
      /^loading \/x\/datapath\.bpf\.o into the kernel: Operation not permitted; .*run the agent as root/,
    );
  });

  it('points at the verifier log when the kernel refused the program', () => {
    const e = bpfError(
      addonError(13, 'loading x: Permission denied\nlibbpf: -- BEGIN PROG LOAD LOG --\nR1 invalid mem access'),
      'load',
    );
    assert.equal(e.code, 'EACCES');
    assert.match(e.message, /R1 invalid mem access; the kernel refused the program/);
  });

  it('says how to get a BPF filesystem when mounting one failed', () => {
    const e = bpfError(addonError(19, 'mounting a BPF filesystem at /sys/fs/bpf: No such device'), 'mount');
    assert.equal(e.code, 'ENODEV');
    assert.match(e.message, /mount -t bpf bpf DIR/);
  });

  it('says the interface is missing when attaching to none', () => {
    const e = bpfError(addonError(19, 'no interface vxe0: No such device'), 'attach');
    assert.match(e.message, /the interface does not exist/);
  });

  it('keeps a message it has nothing to add to', () => {
    const e = bpfError(addonError(16, 'updating map remote_eps: Device or resource busy'), 'map');
    assert.equal(e.message, 'updating map remote_eps: Device or resource busy');
    assert.equal(e.code, 'EBUSY');
  });
});
