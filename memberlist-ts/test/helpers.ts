// Shared helpers for the memberlist-ts tests (not a test file itself).
import type { Duplex } from 'node:stream';
import { Config, defaultLocalConfig } from '../src/config';
import { Memberlist } from '../src/memberlist';
import { NodeStateType } from '../src/messages';
import type { Transport } from '../src/transport';

// The fast timings the cluster tests use.
export function fastConfig(name: string, overrides: Partial<Config> = {}): Config {
  return {
    ...defaultLocalConfig(name),
    bindAddr: '127.0.0.1',
    bindPort: 0,
    probeIntervalMs: 200,
    probeTimeoutMs: 100,
    gossipIntervalMs: 50,
    pushPullIntervalMs: 2000,
    suspicionMult: 3,
    tcpTimeoutMs: 1000,
    leavePropagateDelayMs: 200,
    ...overrides,
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Polls until the predicate holds; fails with the description (and the last detail) on timeout.
// The root's lab/eventually.ts plays this part there: this package cannot import from the root.
export async function waitFor(predicate: () => boolean, timeoutMs: number, describe: () => string): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (predicate()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${describe()}`);
    await sleep(25);
  }
}

export function stateOf(viewer: Memberlist, name: string): NodeStateType | undefined {
  return viewer.allNodes().find((n) => n.name === name)?.state;
}

export function aliveNames(m: Memberlist): string[] {
  return m
    .allNodes()
    .filter((n) => n.state === NodeStateType.Alive)
    .map((n) => n.name)
    .sort();
}

// Everyone sees exactly the given names alive.
export function converged(nodes: Memberlist[], names = nodes.map((n) => n.config.name)): boolean {
  const want = [...names].sort().join(',');
  return nodes.every((m) => aliveNames(m).join(',') === want);
}

export function describeViews(nodes: Memberlist[]): string {
  return nodes.map((m) => `${m.config.name} -> [${m.describe()}]`).join('\n');
}

// Tracks nodes so afterEach can shut every one down.
export class NodeSet {
  readonly all: Memberlist[] = [];

  async start(config: Config): Promise<Memberlist> {
    const m = await Memberlist.create(config);
    this.all.push(m);
    return m;
  }

  async shutdownAll(): Promise<void> {
    const nodes = this.all.splice(0);
    await Promise.all(nodes.map((m) => m.shutdown().catch(() => undefined)));
  }
}

export const addressOf = (m: Memberlist, host = '127.0.0.1') => `${host}:${m.boundPort}`;

// Wraps a transport so a test can never make a node send to anything but the allowed hosts
// (fuzzed messages carry arbitrary addresses).
export class FencedTransport implements Transport {
  sent = 0;
  blocked = 0;
  received = 0;

  constructor(
    private readonly inner: Transport,
    private readonly allowed: (host: string) => boolean,
  ) {}

  listen(...[onPacket, onStream]: Parameters<Transport['listen']>): Promise<number> {
    return this.inner.listen((packet, host, port) => {
      this.received++;
      onPacket(packet, host, port);
    }, onStream);
  }

  sendPacket(packet: Buffer, host: string, port: number): void {
    if (!this.allowed(host)) {
      this.blocked++;
      return;
    }
    this.sent++;
    this.inner.sendPacket(packet, host, port);
  }

  dial(host: string, port: number, timeoutMs: number): Promise<Duplex> {
    if (!this.allowed(host)) return Promise.reject(new Error(`dial to ${host} fenced off`));
    return this.inner.dial(host, port, timeoutMs);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

// A deterministic PRNG so failures can be reproduced. The root's test/helpers/prng.ts is the same
// generator: this package builds on its own and cannot import from the root.
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
