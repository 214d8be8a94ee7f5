import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LabHost, LabNetwork } from '../../lab/network';
import { LabCluster } from '../../lab/lab-cluster';
import { eventually } from '../../lab/eventually';
import { makeTempDir } from '../../lab/temp-dir';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { tearDownLab } from '../helpers/lab-teardown';
import { PodmanHost } from '../helpers/podman-host';

const IMAGE = 'localhost/vxgossip-busybox';

// A real runtime from Debian drives the plugin: podman 4 on its CNI backend, one per lab host, with
// a network configuration as the README has users write it (a conflist in net.d, cniVersion 1.0.0:
// podman 4's libcni speaks up to 1.0.0). Containers on the two hosts reach each other; removing one
// runs its DEL.
describe('CNI plugin driven by podman (CNI backend) on two hosts (real kernel, issue #16)', function () {
  this.timeout(300_000);
  let lab: LabNetwork;
  let cluster: LabCluster;
  const dir = makeTempDir('cni-podman');
  const podmen: PodmanHost[] = [];

  const addressIn = (p: PodmanHost, name: string) => {
    const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(p.podman('exec', name, 'ip', '-4', 'addr', 'show', 'eth0'));
    assert.ok(m, `no IPv4 address in ${name}`);
    return m[1];
  };

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', podman: 'podman', runc: 'runc', busybox: 'busybox-static' });
    if (!fs.existsSync('/usr/lib/cni/loopback'))
      requirePrograms(this, { '/usr/lib/cni/loopback': 'containernetworking-plugins' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    cluster = await LabCluster.start(lab, dir);
    cluster.ctl('vni', 'create', '42', '--subnet', '10.42.0.0/24');
    for (const h of cluster.hosts) await eventually(() => assert.ok(h.link('br42')), 20_000);
    const plugins = PodmanHost.pluginDir(dir);
    for (const h of cluster.hosts) {
      const p = new PodmanHost(h, path.join(dir, `podman-${h.name}`), plugins);
      podmen.push(p);
      fs.writeFileSync(
        path.join(p.netd, 'net42.conflist'),
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'net42',
          plugins: [
            {
              type: 'vxgossip',
              vni: 42,
              agentSocket: cluster.cniSocket(h),
              deleteQueue: cluster.cniDeleteQueue(h),
            },
          ],
        }),
      );
      p.importBusybox(IMAGE);
    }
  });

  after(() => podmen.forEach((p) => p.removeAll()));
  tearDownLab(() => lab, dir);

  it('podman run --network net42 on both hosts: the containers ping each other across hosts', async () => {
    const [p1, p2] = podmen;
    const run = (p: PodmanHost, name: string) =>
      p.podman(
        ...['run', '-d', '--name', name, '--network', 'net42', '--cap-add', 'NET_RAW'],
        ...PodmanHost.limits,
        ...[IMAGE, 'sleep', '600'],
      );
    run(p1, 'web1');
    run(p2, 'web2');
    const [a1, a2] = [addressIn(p1, 'web1'), addressIn(p2, 'web2')];
    assert.notEqual(a1, a2);
    for (const [p, name, to] of [
      [p1, 'web1', a2],
      [p2, 'web2', a1],
    ] as const)
      await eventually(() => p.podman('exec', name, 'ping', '-c', '1', '-W', '1', to), 30_000, 500);
  });

  it("podman rm runs the plugin's DEL: the container's veth is gone from its host", () => {
    const [p1] = podmen;
    const h1: LabHost = p1.host;
    const vethsOf = () =>
      (JSON.parse(h1.exec('ip', ['-j', 'link', 'show'])) as Array<{ ifname: string; ifalias?: string }>).filter((l) =>
        l.ifalias?.includes('"cni":'),
      );
    assert.equal(vethsOf().length, 1);
    p1.podman('rm', '--force', '--time', '0', 'web1');
    assert.deepEqual(vethsOf(), []);
  });
});
