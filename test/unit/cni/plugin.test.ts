import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../../common/log';
import { unixSocketInUse } from '../../../common/unix-socket-server';
import { PATHS } from '../../../common/cni/protocol';
import { readDeleteQueue } from '../../../common/cni/delete-queue';
import { AgentApi, AgentUnreachable, agentClient } from '../../../cni-plugin/agent-client';
import { parseEnvironment } from '../../../cni-plugin/environment';
import { runPlugin } from '../../../cni-plugin/plugin';
import { CniAttachments } from '../../../node-agent/cni/cni-attachments';
import { CniSocketServer } from '../../../node-agent/cni/cni-socket-server';
import { FakeAttacher } from '../../helpers/fake-attacher';
import { FakeHostIpam } from '../../helpers/fake-host-ipam';

const ENV = { CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/c0ffee', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
const config = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: '1.1.0',
    name: 'net42',
    type: 'vxgossip',
    vni: 42,
    agentSocket: '/run/x.sock',
    ...over,
  });

// An agent that answers from a table and notes every call.
function fakeAgent(answers: Record<string, unknown> = {}) {
  const calls: Array<{ path: string; body: unknown }> = [];
  let down = false;
  const api: AgentApi = {
    call: async <T>(p: string, body: unknown) => {
      calls.push({ path: p, body });
      if (down) throw new AgentUnreachable('the vxgossip agent is not reachable at /run/x.sock (ECONNREFUSED)');
      return (answers[p] ?? {}) as T;
    },
  };
  return { calls, agent: () => api, setDown: (d: boolean) => (down = d) };
}

async function invoke(command: string, stdin: string, agent = fakeAgent(), env: Record<string, string> = ENV) {
  const out = await runPlugin(() => parseEnvironment({ ...env, CNI_COMMAND: command }), stdin, { agent: agent.agent });
  return { ...out, json: out.stdout ? (JSON.parse(out.stdout) as Record<string, unknown>) : undefined };
}

const ATTACHMENT = {
  hostInterface: 'vxe0123456789',
  hostMac: '02:aa:00:00:00:01',
  ifname: 'eth0',
  mac: '02:00:00:00:00:01',
  netns: '/run/netns/c0ffee',
  ip: '10.100.0.2/24',
  gateway: '10.100.0.1',
  mtu: 1450,
};

describe('vxgossip CNI plugin protocol (issue #16)', () => {
  it('VERSION lists 1.0.0 and 1.1.0 and answers in the version asked', async () => {
    // libcni's validation runs VERSION with placeholders in the other variables.
    const dummies = { CNI_CONTAINERID: 'dummy', CNI_NETNS: 'dummy', CNI_IFNAME: 'dummy' };
    const out = await invoke('VERSION', '{"cniVersion":"1.0.0"}', fakeAgent(), dummies);
    assert.deepEqual(out.json, { cniVersion: '1.0.0', supportedVersions: ['1.0.0', '1.1.0'] });
    assert.equal(out.exitCode, 0);
  });

  it('refuses missing or bad environment variables with code 4', async () => {
    for (const [env, message] of [
      [{ ...ENV, CNI_CONTAINERID: '' }, /CNI_CONTAINERID is required for ADD/],
      [{ ...ENV, CNI_NETNS: '' }, /CNI_NETNS is required for ADD/],
      [{ ...ENV, CNI_NETNS: 'relative/ns' }, /CNI_NETNS: .* is not the absolute path/],
      [{ ...ENV, CNI_NETNS: '/run/netns/../../etc' }, /no '\.\.'/],
      [{ ...ENV, CNI_CONTAINERID: 'a/b' }, /is not a container ID/],
      [{ ...ENV, CNI_IFNAME: 'x'.repeat(16) }, /not a valid interface name/],
    ] as const) {
      const out = await invoke('ADD', config(), fakeAgent(), env);
      assert.equal(out.exitCode, 1);
      assert.equal(out.json!.code, 4, JSON.stringify(out.json));
      assert.match(String(out.json!.msg), message);
    }
    const bad = await invoke('FROB', config());
    assert.equal(bad.json!.code, 4);
    assert.match(String(bad.json!.msg), /CNI_COMMAND: "FROB" is not one of ADD, DEL, CHECK, VERSION, STATUS, GC/);
  });

  it('DEL needs no namespace (the runtime may have none left)', async () => {
    const agent = fakeAgent();
    const out = await invoke('DEL', config(), agent, { ...ENV, CNI_NETNS: '' });
    assert.equal(out.exitCode, 0);
    assert.equal(out.stdout, '');
    assert.deepEqual(agent.calls, [{ path: PATHS.del, body: { vni: 42, containerId: 'c0ffee', ifname: 'eth0' } }]);
  });

  it('refuses an unsupported version (1), a config that is not JSON (6), no vni or a bad one (7)', async () => {
    const cases: Array<[string, number, RegExp]> = [
      [config({ cniVersion: '0.4.0' }), 1, /cniVersion "0.4.0" is not supported: use one of 1.0.0, 1.1.0/],
      ['{"cniVersion": ', 6, /not JSON/],
      [config({ vni: undefined }), 7, /vni: missing; give the VNI network net42 joins/],
      [config({ vni: 0 }), 7, /vni/],
      [config({ vni: 16777216 }), 7, /vni/],
      [config({ agentSocket: 'relative.sock' }), 7, /agentSocket: expected an absolute path/],
    ];
    for (const [stdin, code, message] of cases) {
      const out = await invoke('ADD', stdin);
      assert.equal(out.json!.code, code, JSON.stringify(out.json));
      assert.match(String(out.json!.msg), message);
      assert.equal(out.exitCode, 1);
    }
  });

  it('ADD returns the spec result: both veth ends, the address on the container side, the gateway route', async () => {
    const agent = fakeAgent({ [PATHS.add]: ATTACHMENT });
    const out = await invoke('ADD', config({ vni: 100 }), agent);
    assert.deepEqual(agent.calls[0], {
      path: PATHS.add,
      body: { vni: 100, containerId: 'c0ffee', ifname: 'eth0', netns: '/run/netns/c0ffee' },
    });
    assert.deepEqual(out.json, {
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'vxe0123456789', mac: '02:aa:00:00:00:01', mtu: 1450 },
        { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/run/netns/c0ffee', mtu: 1450 },
      ],
      ips: [{ address: '10.100.0.2/24', gateway: '10.100.0.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.100.0.1' }],
      dns: {},
    });
    // 1.0.0 has no interface MTU.
    const v10 = await invoke('ADD', config({ cniVersion: '1.0.0', vni: 100 }), agent);
    assert.equal((v10.json!.interfaces as Array<Record<string, unknown>>)[1].mtu, undefined);
    assert.equal(v10.json!.cniVersion, '1.0.0');
  });

  it('ADD chained after another plugin appends to its result', async () => {
    const prevResult = { interfaces: [{ name: 'lo0' }], ips: [{ address: '192.0.2.5/32', interface: 0 }], dns: {} };
    const out = await invoke(
      'ADD',
      config({ prevResult }),
      fakeAgent({ [PATHS.add]: { ...ATTACHMENT, gateway: undefined } }),
    );
    assert.equal((out.json!.interfaces as unknown[]).length, 3);
    assert.deepEqual(out.json!.ips, [
      { address: '192.0.2.5/32', interface: 0 },
      { address: '10.100.0.2/24', interface: 2 },
    ]);
    assert.deepEqual(out.json!.routes, []);
  });

  it('ADD with the agent down is code 11 naming the socket; STATUS is 50', async () => {
    const agent = fakeAgent();
    agent.setDown(true);
    const add = await invoke('ADD', config(), agent);
    assert.equal(add.json!.code, 11);
    assert.match(String(add.json!.msg), /not reachable at \/run\/x.sock .*start the agent/);
    const status = await invoke('STATUS', config(), agent, { CNI_PATH: '/x' });
    assert.equal(status.json!.code, 50);
  });

  it('STATUS: 50 with the reasons while the agent is not ready, nothing on stdout when it is', async () => {
    const notReady = fakeAgent({ [PATHS.status]: { ready: false, reasons: ['gossip: synchronising with a peer'] } });
    const out = await invoke('STATUS', config(), notReady, { CNI_PATH: '/x' });
    assert.equal(out.json!.code, 50);
    assert.match(String(out.json!.msg), /not ready: gossip: synchronising with a peer/);
    const ready = await invoke('STATUS', config(), fakeAgent({ [PATHS.status]: { ready: true, reasons: [] } }), {});
    assert.deepEqual([ready.exitCode, ready.stdout], [0, '']);
    const old = await invoke('STATUS', config({ cniVersion: '1.0.0' }), fakeAgent(), {});
    assert.equal(old.json!.code, 1);
  });

  it('GC hands the agent cni.dev/valid-attachments; a bad entry is code 7', async () => {
    const agent = fakeAgent();
    const valid = [{ containerID: 'keep', ifname: 'eth0' }];
    const out = await invoke('GC', config({ 'cni.dev/valid-attachments': valid }), agent, { CNI_PATH: '/x' });
    assert.equal(out.exitCode, 0);
    assert.deepEqual(agent.calls, [
      { path: PATHS.gc, body: { vni: 42, valid: [{ containerId: 'keep', ifname: 'eth0' }] } },
    ]);
    const bad = await invoke('GC', config({ 'cni.dev/valid-attachments': [{ containerID: 'a b' }] }), agent, {});
    assert.equal(bad.json!.code, 7);
  });

  it("CHECK sends what ADD's result says about our interface", async () => {
    const agent = fakeAgent();
    const prevResult = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'vxe0' }, { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/run/netns/c0ffee' }],
      ips: [{ address: '10.42.0.2/24', interface: 1 }],
    };
    const out = await invoke('CHECK', config({ prevResult }), agent);
    assert.equal(out.exitCode, 0);
    assert.deepEqual(agent.calls[0].body, {
      ...{ vni: 42, containerId: 'c0ffee', ifname: 'eth0', netns: '/run/netns/c0ffee' },
      ...{ ip: '10.42.0.2/24', mac: '02:00:00:00:00:01' },
    });
  });

  it('DEL with the agent down succeeds and queues the deletion for the agent to replay', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-cni-plugin-'));
    try {
      const agent = fakeAgent();
      agent.setDown(true);
      const out = await invoke('DEL', config({ deleteQueue: dir }), agent);
      assert.deepEqual([out.exitCode, out.stdout], [0, '']);
      assert.deepEqual(
        readDeleteQueue(dir).map((q) => q.entry && { ...q.entry, queuedAt: '' }),
        [{ vni: 42, containerId: 'c0ffee', ifname: 'eth0', queuedAt: '' }],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("round trip through the agent's socket: ADD, DEL, a refused request's CNI code", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-cni-socket-'));
    const socket = path.join(dir, 'cni.sock');
    const attacher = new FakeAttacher();
    const attachments = new CniAttachments({
      attacher,
      ipam: new FakeHostIpam((vni) => (vni === 42 ? '10.42.0.0/24' : undefined)),
      attachPoint: (vni) => (vni === 42 ? { device: 'br42' } : undefined),
      hostLink: async () => ({ mtu: 1450 }),
      inside: async () => undefined,
      settle: async () => undefined,
      readiness: () => ({ ready: true, checks: {} }),
      log: createLogger({ component: 'test', level: 'error', write: () => undefined }),
    });
    const server = new CniSocketServer(attachments, createLogger({ component: 'test', write: () => undefined }));
    await server.listen(socket);
    try {
      assert.equal((fs.statSync(socket).mode & 0o777).toString(8), '600');
      const real = { agent: agentClient };
      const run = (command: string, stdin: string) =>
        runPlugin(() => parseEnvironment({ ...ENV, CNI_COMMAND: command }), stdin, real);
      const added = await run('ADD', config({ agentSocket: socket }));
      assert.equal(added.exitCode, 0, added.stdout);
      assert.equal((JSON.parse(added.stdout) as { ips: Array<{ address: string }> }).ips[0].address, '10.42.0.2/24');
      const unknown = JSON.parse((await run('ADD', config({ agentSocket: socket, vni: 7 }))).stdout) as {
        code: number;
      };
      assert.equal(unknown.code, 7);
      assert.equal((await run('DEL', config({ agentSocket: socket }))).exitCode, 0);
      assert.deepEqual(attacher.endpoints, []);
      assert.equal(await unixSocketInUse(socket), true);
    } finally {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
