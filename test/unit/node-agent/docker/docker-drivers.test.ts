import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { createLogger } from '../../../../common/log';
import type { VniConfig } from '../../../../common/vni';
import { dockerPluginHandlers } from '../../../../node-agent/docker/docker-plugin';
import { DockerState } from '../../../../node-agent/docker/docker-state';
import { IpamDriver } from '../../../../node-agent/docker/ipam-driver';
import { DockerVeths, NetworkDriver } from '../../../../node-agent/docker/network-driver';
import {
  MAX_REQUEST_BYTES,
  PLUGIN_CONTENT_TYPE,
  PluginHandlers,
  PluginServer,
  answer,
} from '../../../../node-agent/docker/plugin-server';
import type { AttachedEndpoint } from '../../../../node-agent/kernel/endpoint-veth';
import { makeTempDir, removeTempDir } from '../../../../lab/temp-dir';
import { FakeHostIpam } from '../../../helpers/fake-host-ipam';

const log = createLogger({ component: 'test', level: 'error' });
const NET = 'a'.repeat(64);
const NET2 = 'b'.repeat(64);
const EP = 'c'.repeat(64);

function vni(id: number, subnet: string, mode: 'l2' | 'l3' = 'l2'): VniConfig {
  return {
    id,
    name: `vni-${id}`,
    mtu: 0,
    dstport: 4789,
    mode,
    multicastGroup: '',
    subnet,
    datapath: mode === 'l3' ? 'lwt' : '',
    revision: 1,
    createTimeMs: 0,
    updateTimeMs: 0,
  };
}

class FakeVeths implements DockerVeths {
  readonly plugged = new Map<string, { endpoint: AttachedEndpoint; peer: string }>();
  plug(endpoint: AttachedEndpoint, peer: string): Promise<void> {
    this.plugged.set(endpoint.hostInterface, { endpoint, peer });
    return Promise.resolve();
  }
  unplug(hostInterface: string): Promise<boolean> {
    return Promise.resolve(this.plugged.delete(hostInterface));
  }
}

// One host's drivers over fakes; `dataDir` keeps the state as the agent does.
function host(vnis: VniConfig[], options: { dataDir?: string; ipam?: FakeHostIpam; capacity?: number } = {}) {
  const subnetOf = (id: number) => vnis.find((v) => v.id === id)?.subnet;
  const ipam = options.ipam ?? new FakeHostIpam(subnetOf, options.capacity);
  const veths = new FakeVeths();
  let settled = 0;
  const state = DockerState.open(options.dataDir);
  const deps = { node: 'h1', vnis: () => vnis, ipam, log };
  const network = new NetworkDriver({ ...deps, state, veths, settle: () => Promise.resolve(void settled++) });
  const handlers = dockerPluginHandlers(network, new IpamDriver(deps));
  const call = async (method: string, body: object) => answer(handlers, method, JSON.stringify(body));
  // The body of a call that must succeed.
  const ok = async (method: string, body: object) => {
    const a = await call(method, body);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.ok(!('Err' in a.body) && !('Error' in a.body), `${method}: ${JSON.stringify(a.body)}`);
    return a.body as Record<string, unknown>;
  };
  // The error Docker would show: libnetwork reads the network driver's as Err, the IPAM driver's as Error.
  const err = async (method: string, body: object) => {
    const a = await call(method, body);
    const message = (a.body as Record<string, string | undefined>)[method.startsWith('Ipam') ? 'Error' : 'Err'];
    assert.ok(message, `${method} should fail: ${JSON.stringify(a.body)}`);
    return message;
  };
  return { ipam, veths, ok, err, call, settled: () => settled };
}

const createNetwork = (id: string, vniOption: string | undefined, pool: string) => ({
  NetworkID: id,
  Options: { 'com.docker.network.generic': vniOption === undefined ? {} : { vni: vniOption } },
  IPv4Data: [{ AddressSpace: 'vxgossip', Pool: pool, Gateway: '10.42.0.1/24' }],
  IPv6Data: [],
});

// What `docker network create … net42` and `docker run --network net42` ask of the plugin, in order.
async function createAndJoin(h: ReturnType<typeof host>, subnet = '10.42.0.0/24') {
  const { PoolID } = await h.ok('IpamDriver.RequestPool', { AddressSpace: 'vxgossip', Pool: subnet });
  const gw = await h.ok('IpamDriver.RequestAddress', {
    PoolID,
    Options: { RequestAddressType: 'com.docker.network.gateway' },
  });
  await h.ok('NetworkDriver.CreateNetwork', createNetwork(NET, '42', subnet));
  const { Address } = await h.ok('IpamDriver.RequestAddress', { PoolID });
  const created = await h.ok('NetworkDriver.CreateEndpoint', {
    NetworkID: NET,
    EndpointID: EP,
    Interface: { Address },
  });
  const joined = await h.ok('NetworkDriver.Join', {
    NetworkID: NET,
    EndpointID: EP,
    SandboxKey: '/var/run/docker/netns/x',
  });
  return { PoolID, gateway: gw.Address, Address, created, joined };
}

describe('Docker plugin: network and IPAM drivers (issue #16)', () => {
  it('activates as a network and an IPAM driver, local scope', async () => {
    const h = host([vni(42, '10.42.0.0/24')]);
    assert.deepEqual(await h.ok('Plugin.Activate', {}), { Implements: ['NetworkDriver', 'IpamDriver'] });
    assert.equal((await h.ok('NetworkDriver.GetCapabilities', {})).Scope, 'local');
  });

  it('maps a network to its VNI: gateway, an address from HostIpam, a veth announced on Join', async () => {
    const h = host([vni(42, '10.42.0.0/24')]);
    const { PoolID, gateway, Address, created, joined } = await createAndJoin(h);
    assert.equal(PoolID, '42/10.42.0.0/24');
    assert.equal(gateway, '10.42.0.1/24');
    assert.equal(Address, '10.42.0.2/24');
    const mac = (created.Interface as { MacAddress: string }).MacAddress;
    assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const [plugged] = [...h.veths.plugged.values()];
    assert.deepEqual(
      { ...plugged.endpoint, hostInterface: undefined },
      { vni: 42, netns: 'docker', interface: EP.slice(0, 12), ip: '10.42.0.2/24', mac, hostInterface: undefined },
    );
    assert.deepEqual(joined.InterfaceName, { SrcName: plugged.peer, DstPrefix: 'eth' });
    assert.equal(joined.DisableGatewayService, true);
    assert.equal(joined.Gateway, undefined, 'an L2 VNI has no router of ours');
    assert.equal(h.settled(), 1, 'announced before Docker starts the container');

    await h.ok('NetworkDriver.Leave', { NetworkID: NET, EndpointID: EP });
    assert.equal(h.veths.plugged.size, 0);
    await h.ok('NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP });
    await h.ok('IpamDriver.ReleaseAddress', { PoolID, Address });
    assert.deepEqual(h.ipam.allocated(), []);
    await h.ok('IpamDriver.ReleaseAddress', { PoolID, Address: gateway });
  });

  it("gives an L3 VNI's containers its anycast gateway", async () => {
    const h = host([vni(42, '10.42.0.0/24', 'l3')]);
    const { joined } = await createAndJoin(h);
    assert.equal(joined.Gateway, '10.42.0.1');
  });

  it('keeps networks and endpoints across a restart: Join, Leave and DeleteEndpoint with the same IDs', async () => {
    const dir = makeTempDir('docker-state');
    try {
      const vnis = [vni(42, '10.42.0.0/24')];
      const first = host(vnis, { dataDir: dir });
      const { created } = await createAndJoin(first);
      const again = host(vnis, { dataDir: dir, ipam: first.ipam });
      const joined = await again.ok('NetworkDriver.Join', { NetworkID: NET, EndpointID: EP });
      const [before] = [...first.veths.plugged.values()];
      const [plugged] = [...again.veths.plugged.values()];
      assert.equal((joined.InterfaceName as { SrcName: string }).SrcName, before.peer);
      assert.equal(plugged.endpoint.mac, (created.Interface as { MacAddress: string }).MacAddress);
      await again.ok('NetworkDriver.Leave', { NetworkID: NET, EndpointID: EP });
      await again.ok('NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: EP });
      await again.ok('NetworkDriver.DeleteNetwork', { NetworkID: NET });
      const third = host(vnis, { dataDir: dir, ipam: first.ipam });
      assert.match(await third.err('NetworkDriver.Join', { NetworkID: NET, EndpointID: EP }), /no endpoint/);
    } finally {
      removeTempDir(dir);
    }
  });

  describe('bad input, each a clear error Docker shows', () => {
    const h = () => host([vni(42, '10.42.0.0/24'), vni(43, '10.43.0.0/24')]);

    it('no vni option', async () => {
      assert.match(
        await h().err('NetworkDriver.CreateNetwork', createNetwork(NET, undefined, '10.42.0.0/24')),
        /-o vni=N/,
      );
      assert.match(await h().err('NetworkDriver.CreateNetwork', createNetwork(NET, 'x', '10.42.0.0/24')), /not a VNI/);
    });

    it('a VNI the configuration does not have: the server is its only author', async () => {
      const message = await h().err('NetworkDriver.CreateNetwork', createNetwork(NET, '77', '10.77.0.0/24'));
      assert.match(message, /VNI 77 is not in this host's configuration.*ctl vni create 77/);
    });

    it("a subnet that is not the VNI's", async () => {
      const x = h();
      assert.match(
        await x.err('NetworkDriver.CreateNetwork', createNetwork(NET, '42', '10.43.0.0/24')),
        /subnet 10.43.0.0\/24 is not VNI 42's: use --subnet 10.42.0.0\/24/,
      );
      assert.match(
        await x.err('IpamDriver.RequestPool', { Pool: '10.99.0.0/24' }),
        /no VNI .*has the subnet 10.99.0.0\/24/,
      );
      assert.match(await x.err('IpamDriver.RequestPool', { Pool: '' }), /--subnet/);
      assert.match(
        await x.err('IpamDriver.RequestPool', { Pool: '10.42.0.0/24', Options: { vni: '43' } }),
        /no VNI 43 in/,
      );
    });

    it('a second network for the same VNI with another subnet', async () => {
      const vnis = [vni(42, '10.42.0.0/24')];
      const x = host(vnis);
      await x.ok('NetworkDriver.CreateNetwork', createNetwork(NET, '42', '10.42.0.0/24'));
      await x.ok('NetworkDriver.CreateNetwork', createNetwork(NET, '42', '10.42.0.0/24'));
      vnis[0] = vni(42, '10.44.0.0/24');
      assert.match(
        await x.err('NetworkDriver.CreateNetwork', createNetwork(NET2, '42', '10.44.0.0/24')),
        /VNI 42 already has Docker network aaaaaaaaaaaa with subnet 10.42.0.0\/24/,
      );
    });

    it('exhausted addresses', async () => {
      const x = host([vni(42, '10.42.0.0/24')], { capacity: 1 });
      const { PoolID } = await x.ok('IpamDriver.RequestPool', { Pool: '10.42.0.0/24' });
      await x.ok('IpamDriver.RequestAddress', { PoolID });
      assert.match(await x.err('IpamDriver.RequestAddress', { PoolID }), /exhausted/);
    });

    it('an address the vxgossip IPAM did not hand out, and another gateway', async () => {
      const x = h();
      await x.ok('NetworkDriver.CreateNetwork', createNetwork(NET, '42', '10.42.0.0/24'));
      const message = await x.err('NetworkDriver.CreateEndpoint', {
        NetworkID: NET,
        EndpointID: EP,
        Interface: { Address: '10.42.0.9/24' },
      });
      assert.match(message, /--ipam-driver vxgossip/);
      const { PoolID } = await x.ok('IpamDriver.RequestPool', { Pool: '10.42.0.0/24' });
      const gateway = { RequestAddressType: 'com.docker.network.gateway' };
      assert.match(
        await x.err('IpamDriver.RequestAddress', { PoolID, Address: '10.42.0.254', Options: gateway }),
        /gateway of VNI 42 is 10.42.0.1/,
      );
    });

    it('requests that are not Docker: undecodable, wrong IDs, unknown methods', async () => {
      const handlers: PluginHandlers = dockerPluginHandlers(
        new NetworkDriver({} as never),
        new IpamDriver({} as never),
      );
      assert.equal((await answer(handlers, 'NetworkDriver.Join', '{')).status, 400);
      assert.equal((await answer(handlers, 'NetworkDriver.Join', '[]')).status, 400);
      const bad = await answer(handlers, 'NetworkDriver.Join', JSON.stringify({ NetworkID: 'x', EndpointID: EP }));
      assert.equal(bad.status, 400);
      assert.match((bad.body as { Err: string }).Err, /NetworkID: "x" is not a Docker ID/);
      assert.equal((await answer(handlers, 'toString', '{}')).status, 404);
    });
  });
});

describe('Docker plugin socket', () => {
  let dir: string;
  let server: PluginServer;
  beforeEach(async () => {
    dir = makeTempDir('docker-plugin');
    fs.writeFileSync(path.join(dir, 'other'), '');
    server = await PluginServer.listen(dir, { 'Plugin.Activate': () => ({ Implements: ['NetworkDriver'] }) }, log);
  });
  afterEach(async () => {
    await server.close();
    removeTempDir(dir);
  });

  const post = (method: string, body: string) =>
    new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = http.request(
        { socketPath: path.join(dir, 'vxgossip.sock'), path: `/${method}`, method: 'POST' },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: text }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it("answers Docker's HTTP on DIR/vxgossip.sock, bounds the body, and removes the socket when closed", async () => {
    assert.equal(fs.statSync(path.join(dir, 'vxgossip.sock')).mode & 0o077, 0, 'root only');
    const activated = await post('Plugin.Activate', '{}');
    assert.deepEqual([activated.status, activated.type], [200, PLUGIN_CONTENT_TYPE]);
    assert.deepEqual(JSON.parse(activated.body), { Implements: ['NetworkDriver'] });
    const big = await post('Plugin.Activate', 'x'.repeat(MAX_REQUEST_BYTES + 1)).catch(() => ({ status: 413 }));
    assert.equal(big.status, 413);
    await server.close();
    assert.ok(!fs.existsSync(path.join(dir, 'vxgossip.sock')));
    server = await PluginServer.listen(dir, {}, log);
  });
});
