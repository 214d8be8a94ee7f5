import { strict as assert } from 'node:assert';
import { createLogger } from '../../../../common/log';
import type { EndpointRecord } from '../../../../common/fdb-state/winner-rule';
import { BpfMap } from '../../../../node-agent/bpf/bpf-map';
import type { AttachPoint } from '../../../../node-agent/bpf/datapath';
import { localEndpointCodec, remoteEndpointCodec, workloadInterfaceCodec } from '../../../../node-agent/bpf/map-codec';
import {
  BpfDatapathWriter,
  BpfKernel,
  BpfPassInput,
  OpenedDatapath,
} from '../../../../node-agent/kernel/bpf-datapath-writer';
import type { L3Vni } from '../../../../node-agent/kernel/realised-vnis';
import { announcedEndpoint } from '../../../helpers/endpoint-records';
import { MemoryBpfMap } from '../../../helpers/memory-bpf-map';

const silent = createLogger({ component: 'test', level: 'error', write: () => undefined });
const BPF: L3Vni = { vni: 100, deviceIndex: 30, device: 'vxl3-4790', subnet: '10.100.0.0/24', datapath: 'bpf' };

// The kernel side in memory: three maps, the interfaces carrying our program, the pins; every
// operation in order in `ops`.
class FakeKernel implements BpfKernel {
  readonly ops: string[] = [];
  readonly backends = { remote: new MemoryBpfMap(), local: new MemoryBpfMap(), interfaces: new MemoryBpfMap() };
  readonly carrying = new Map<number, AttachPoint>();
  pins = false;
  refuseOpen = '';

  open(): OpenedDatapath {
    this.ops.push('open');
    if (this.refuseOpen) throw new Error(this.refuseOpen);
    this.pins = true;
    const logged = (name: string, backend: MemoryBpfMap) => ({
      update: (k: Buffer, v: Buffer) => (this.ops.push(`set ${name}`), backend.update(k, v)),
      delete: (k: Buffer) => (this.ops.push(`delete ${name}`), backend.delete(k)),
      dump: () => backend.dump(),
    });
    return {
      remoteEndpoints: new BpfMap('remote_eps', remoteEndpointCodec, logged('remote', this.backends.remote)),
      localEndpoints: new BpfMap('local_eps', localEndpointCodec, logged('local', this.backends.local)),
      workloadInterfaces: new BpfMap(
        'workload_ifs',
        workloadInterfaceCodec,
        logged('interfaces', this.backends.interfaces),
      ),
      maps: [{ name: 'remote_eps', id: 1, keySize: 24, valueSize: 28, maxEntries: 65536, replaced: false }],
      programs: [],
      pinDir: '/sys/fs/bpf/test',
      attach: (point, ref) => {
        const ifindex = ref.interface as number;
        const outcome = this.carrying.get(ifindex) === point ? 'unchanged' : 'attached';
        if (outcome === 'attached') this.ops.push(`attach ${point} ${ifindex}`);
        this.carrying.set(ifindex, point);
        return { ifindex, programId: 1, outcome };
      },
      close: () => void this.ops.push('close'),
    };
  }

  pinned(): boolean {
    return this.pins;
  }

  removePins(): void {
    this.ops.push('remove pins');
    this.pins = false;
  }

  carries(ifindex: number): boolean {
    return this.carrying.has(ifindex);
  }

  detach(ifindex: number): void {
    this.ops.push(`detach ${ifindex}`);
    this.carrying.delete(ifindex);
  }
}

const remote = (ip: string): EndpointRecord =>
  announcedEndpoint({ vni: 100, mac: '02:00:00:00:00:12', vtep: '198.18.0.12', ips: [`${ip}/24`] });
const local = {
  vni: 100,
  ip: '10.100.0.11/24',
  mac: '02:00:00:00:00:11',
  hostIfindex: 7,
  hostMac: '02:aa:00:00:00:07',
};

describe('BPF datapath writer (maps in memory)', () => {
  let kernel: FakeKernel;
  let writer: BpfDatapathWriter;
  const pass = (over: Partial<BpfPassInput> = {}) =>
    writer.reconcile({
      vnis: [BPF],
      local: [local],
      remote: [remote('10.100.0.12')],
      sweep: true,
      candidates: async () => [7, 8, 30],
      ...over,
    });
  beforeEach(() => {
    kernel = new FakeKernel();
    writer = new BpfDatapathWriter(kernel, silent);
  });

  it('opens nothing, and reads no interface, on a host without BPF VNIs', async () => {
    const r = await pass({ vnis: [{ ...BPF, datapath: 'lwt' }], candidates: async () => assert.fail('no scan') });
    assert.deepEqual(kernel.ops, []);
    assert.deepEqual([...r.desired], []);
  });

  it('fills the maps before attaching, then writes nothing while nothing changed', async () => {
    const r = await pass();
    assert.deepEqual(kernel.ops, [
      'open',
      'set interfaces',
      'set local',
      'set remote',
      'attach workload 7',
      'attach tunnel 30',
    ]);
    assert.deepEqual([r.written, r.removed, [...r.desired], [...r.programmed]], [3, 0, [[100, 3]], [[100, 3]]]);
    kernel.ops.length = 0;
    const again = await pass();
    assert.deepEqual(kernel.ops, [], 'the same desired state: no write, every attachment unchanged');
    assert.equal(again.written, 0);
  });

  it('removes and detaches nothing during a restart grace period; the first sweep does', async () => {
    // What a previous run left: an entry nobody wants any more, and a program on a veth now lwt's.
    const previous = new BpfDatapathWriter(kernel, silent);
    await previous.reconcile({
      vnis: [BPF],
      local: [local],
      remote: [remote('10.100.0.99')],
      sweep: true,
      candidates: async () => [],
    });
    kernel.carrying.set(8, 'workload');
    previous.close();
    kernel.ops.length = 0;

    await pass({ sweep: false });
    assert.deepEqual(kernel.ops, ['open', 'set remote']);
    assert.equal(kernel.backends.remote.table.size, 2);
    await pass();
    assert.deepEqual(kernel.ops.slice(2), ['delete remote', 'detach 8']);
    assert.equal(kernel.backends.remote.table.size, 1);
  });

  it('repairs an entry deleted and a program detached out of band, writing only those', async () => {
    await pass();
    kernel.backends.remote.table.clear();
    kernel.carrying.delete(7);
    kernel.ops.length = 0;
    assert.deepEqual(writer.check(), { entries: 1, attachments: 1 });
    assert.deepEqual(kernel.ops, ['set remote', 'attach workload 7']);
    assert.deepEqual(writer.check(), { entries: 0, attachments: 0 });
  });

  it('detaches programs from interfaces that no longer want them, and unpins when the last BPF VNI goes', async () => {
    await pass();
    kernel.ops.length = 0;
    await pass({ local: [] });
    assert.deepEqual(kernel.ops, ['delete interfaces', 'delete local', 'detach 7']);
    kernel.ops.length = 0;
    await pass({ vnis: [], local: [], remote: [], sweep: false });
    assert.deepEqual(kernel.ops, [], 'not during a grace period');
    await pass({ vnis: [], local: [], remote: [] });
    assert.deepEqual(kernel.ops, ['detach 30', 'close', 'remove pins']);
    kernel.ops.length = 0;
    await pass({ vnis: [], local: [], remote: [] });
    assert.deepEqual(kernel.ops, [], 'nothing left to do');
  });

  it('after a restart with pins but no BPF VNI left, finds its programs, detaches them and unpins', async () => {
    kernel.pins = true;
    kernel.carrying.set(7, 'workload').set(30, 'tunnel');
    await pass({ vnis: [], local: [], remote: [] });
    assert.deepEqual(kernel.ops, ['detach 7', 'detach 30', 'remove pins']);
  });

  it('reports why a BPF VNI is not forwarded when the datapath cannot open, and tries again next pass', async () => {
    kernel.refuseOpen = 'mounting the BPF filesystem: Operation not permitted';
    const r = await pass();
    assert.match(r.errors.get(100) ?? '', /the BPF datapath cannot be opened: mounting .*not permitted/);
    assert.deepEqual([...r.programmed], []);
    kernel.refuseOpen = '';
    const ok = await pass();
    assert.deepEqual([...ok.errors], []);
    assert.deepEqual([...ok.programmed], [[100, 3]]);
  });
});
