import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { blockIndexOf, blockIndexOfCidr, subnetBlocks } from '../../common/ipam-blocks';
import { repoRoot } from '../../common/paths';
import { operatorArgs, operatorDir } from '../../lab/credentials';
import { eventually } from '../../lab/eventually';
import { LabCluster } from '../../lab/lab-cluster';
import { LabHost, LabNetwork } from '../../lab/network';
import { OperatorRpc, RogueCredentials, spawnRogueAgent } from '../../lab/rogue-agent-client';
import { makeTempDir } from '../../lab/temp-dir';
import { tearDownLab } from '../helpers/lab-teardown';
import { requirePrograms, requireRoot } from '../helpers/require-root';

const execFileAsync = promisify(execFile);
const VNI = 100;
const SUBNET = '10.100.0.0/22';
const ENDPOINTS = 50;

interface Block {
  vni: number;
  cidr: string;
  node: string;
}
interface Endpoint {
  node: string;
  ips: string[];
  netns: string | null;
}

// Endpoints attached without --ip get addresses from blocks their host holds (two hosts, real agents
// and server): distinct, inside the host's blocks, released on detach, blocks given back when empty;
// and only a host itself can claim or release its blocks.
describe('IPAM: per-host address blocks (2 hosts, real agents)', function () {
  this.timeout(240_000);
  let lab: LabNetwork | undefined;
  let cluster: LabCluster;
  let h1: LabHost;
  let h2: LabHost;
  const dir = makeTempDir('ipam');
  // Which namespace is attached on which host.
  const attached = new Map<string, LabHost>();

  // ctl as the operator, without blocking the test process: attaches run side by side.
  const ctlAsync = (...args: string[]) =>
    execFileAsync('ip', [
      ...['netns', 'exec', cluster.ctrl.netns, process.execPath, path.join(repoRoot, 'bin', 'ctl')],
      ...operatorArgs(cluster.serverAddr, cluster.serverDir),
      ...args,
    ]);
  const blocks = (): Block[] => JSON.parse(cluster.ctl('-o', 'json', 'ipam', 'blocks', '--vni', String(VNI)));
  const endpoints = (): Endpoint[] =>
    JSON.parse(cluster.ctl('-o', 'json', 'endpoint', 'list', '--vni', String(VNI))) as Endpoint[];
  // Resolves to the namespace once it is attached.
  const attach = async (host: LabHost, label: string) => {
    const netns = cluster.lab.namespace(label);
    attached.set(netns, host);
    await ctlAsync('endpoint', 'attach', '--node', host.name, '--vni', String(VNI), '--netns', netns);
    return netns;
  };
  const addressIn = (netns: string) => {
    const out = cluster.lab.execIn(netns, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0']).stdout;
    return /inet (\S+)/.exec(out)?.[1];
  };
  const detach = (netns: string) =>
    cluster.ctl('endpoint', 'detach', '--node', attached.get(netns)!.name, '--vni', String(VNI), '--netns', netns);
  const inBlockOf = (ip: string, node: string, held: Block[]) => {
    const s = subnetBlocks(SUBNET);
    return held.some((b) => b.node === node && blockIndexOfCidr(s, b.cidr) === blockIndexOf(s, ip));
  };
  const rogueCall = async (host: LabHost, credentials: RogueCredentials, call: OperatorRpc) => {
    const rogue = spawnRogueAgent(host, { mode: 'operator', server: cluster.serverAddr, credentials, call });
    const r = await rogue.waitForLog((x) => x.msg === 'rogue operator call', 15_000);
    return r.refused as { code: number; details: string } | null;
  };

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    cluster = await LabCluster.start(lab, dir);
    [h1, h2] = cluster.hosts;
    cluster.ctl('vni', 'create', String(VNI), '--mode', 'l3', '--subnet', SUBNET);
    for (const h of cluster.hosts) await eventually(() => assert.ok(h.link('vxl3-8472')), 20_000);
  });

  tearDownLab(() => lab, dir);

  it(`gives ${ENDPOINTS} endpoints attached at once on two hosts distinct addresses, each in a block its host holds`, async () => {
    const labels = Array.from({ length: ENDPOINTS }, (_, i) => [i % 2 === 0 ? h1 : h2, `ep${i}`] as const);
    // Eight at a time: two cores run every ctl, both agents and the server.
    for (let i = 0; i < labels.length; i += 8)
      await Promise.all(labels.slice(i, i + 8).map(([host, label]) => attach(host, label)));
    const held = blocks();
    const addresses = [...attached.keys()].map((netns) => addressIn(netns));
    assert.equal(new Set(addresses).size, ENDPOINTS, `distinct addresses: ${addresses.join(' ')}`);
    for (const [netns, host] of attached) {
      const ip = addressIn(netns)!;
      assert.ok(
        inBlockOf(ip, host.name, held),
        `${netns} on ${host.name} got ${ip}, outside its blocks: ${JSON.stringify(held)}`,
      );
    }
    assert.ok(held.some((b) => b.node === h1.name) && held.some((b) => b.node === h2.name));
    await eventually(() => assert.equal(endpoints().length, ENDPOINTS), 20_000);
  });

  it("refuses an explicit --ip inside another host's block, naming the host", () => {
    const theirs = blocks().find((b) => b.node === h2.name)!;
    const ip = `${theirs.cidr.split('/')[0].replace(/\.(\d+)$/, (_, n: string) => `.${Number(n) + 60}`)}/22`;
    const r = cluster.ctlRun(
      ...['endpoint', 'attach', '--node', h1.name, '--vni', String(VNI)],
      ...['--netns', cluster.lab.namespace('explicit'), '--ip', ip],
    );
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(
      r.stderr,
      new RegExp(`in block ${theirs.cidr.replace(/\./g, '\\.')} of VNI ${VNI}, which node h2 holds`),
    );
  });

  it('releases the address of a detached endpoint and hands it out again', async () => {
    const [netns] = [...attached].find(([, h]) => h === h1)!;
    const ip = addressIn(netns);
    detach(netns);
    attached.delete(netns);
    assert.equal(addressIn(await attach(h1, 'again')), ip);
  });

  it("refuses a host's certificate releasing another host's block, and an operator claiming one", async () => {
    const before = blocks();
    const theirs = before.find((b) => b.node === h2.name)!;
    const identity = (node: string) => path.join(dir, node, 'identity');
    const ca = path.join(operatorDir(cluster.serverDir), 'ca.crt');
    const asH1 = { ca, cert: path.join(identity('h1'), 'node.crt'), key: path.join(identity('h1'), 'node.key') };
    const asOperator = {
      ca,
      cert: path.join(operatorDir(cluster.serverDir), 'operator.crt'),
      key: path.join(operatorDir(cluster.serverDir), 'operator.key'),
    };
    const release = await rogueCall(h1, asH1, { rpc: 'releaseBlock', vni: VNI, cidr: theirs.cidr });
    assert.equal(release?.code, grpc.status.PERMISSION_DENIED, JSON.stringify(release));
    assert.match(release.details, /held by node h2, not h1/);
    const claim = await rogueCall(h1, asOperator, { rpc: 'claimBlock', vni: VNI });
    assert.equal(claim?.code, grpc.status.PERMISSION_DENIED, JSON.stringify(claim));
    const list = await rogueCall(h1, asH1, { rpc: 'listBlocks' });
    assert.equal(list?.code, grpc.status.PERMISSION_DENIED, JSON.stringify(list));
    assert.deepEqual(blocks(), before, 'no block changed hands');
  });

  it("gives a block back when its last endpoint is detached, and drops a deleted VNI's blocks", async () => {
    for (const [netns] of [...attached].filter(([, h]) => h === h2)) detach(netns);
    await eventually(
      () =>
        assert.deepEqual(
          blocks().filter((b) => b.node === h2.name),
          [],
        ),
      15_000,
    );
    assert.ok(blocks().some((b) => b.node === h1.name));
    for (const [netns] of [...attached].filter(([, h]) => h === h1)) detach(netns);
    cluster.ctl('vni', 'delete', String(VNI));
    await eventually(() => assert.deepEqual(blocks(), []), 15_000);
  });

  // ctl's attach is routed through the server, so an attach with the server down is for the local
  // paths (Docker, CNI); the unit tests cover it. Here: what the host holds survives both going down.
  it('keeps its block across an agent restart while the server is stopped: no new claim after', async () => {
    cluster.ctl('vni', 'create', String(VNI), '--mode', 'l3', '--subnet', SUBNET);
    await eventually(() => assert.ok(h1.link('vxl3-8472')), 20_000);
    const first = addressIn(await attach(h1, 'before-restart'));
    const claimed = blocks();
    await cluster.server.stop('SIGTERM');
    await cluster.restartAgent(h1, 'SIGTERM');
    const agentLog = cluster.agent(h1);
    await cluster.startServer();
    await agentLog.waitForLog((r) => r.msg === 'connected to server', 30_000);
    const second = addressIn(await attach(h1, 'after-restart'));
    assert.notEqual(second, first);
    assert.ok(inBlockOf(second!, h1.name, claimed), `${second} is in the block h1 held before`);
    assert.equal(agentLog.logRecords().filter((r) => r.msg === 'address block claimed').length, 0);
  });
});
