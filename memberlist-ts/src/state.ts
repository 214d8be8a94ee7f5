import type { Config } from './config';
import { Alive, Dead, NodeStateType, PushNodeState, Suspect, encodeAlive, encodeDead, encodeSuspect } from './messages';
import { Node, addrToString, sameAddr } from './node';
import { Suspicion, suspicionTimeoutMs } from './suspicion';

// The node state table: who we know, in which state, at which incarnation, and the rules by which
// alive, suspect and dead messages (from gossip or push/pull) change it (memberlist's aliveNode,
// suspectNode, deadNode, refute and mergeState).

// A push/pull node state plus what only the local table tracks.
export interface NodeRecord extends PushNodeState {
  // Date.now() of the last state change; it also tells a suspicion timer whether it is stale.
  stateChange: number;
  suspicion?: Suspicion;
}

// What the table needs from the Memberlist that owns it.
export interface StateContext {
  readonly config: Config;
  localVsn(): number[];
  advertised(): { addr: Buffer; port: number };
  isLeaving(): boolean;
  broadcast(name: string, message: Buffer, finished?: () => void): void;
  // We had to refute an accusation: Lifeguard counts that against our own health.
  onRefute(): void;
}

export const MAX_INCARNATION = 0xffffffff;

export class ProtocolMismatchError extends Error {
  override readonly name = 'ProtocolMismatchError';
}

export function toNode(n: NodeRecord | PushNodeState): Node {
  return {
    name: n.name,
    addr: addrToString(n.addr),
    port: n.port,
    meta: n.meta,
    state: n.state,
    incarnation: n.incarnation,
    vsn: [...n.vsn],
  };
}

const isDeadOrLeft = (n: NodeRecord) => n.state === NodeStateType.Dead || n.state === NodeStateType.Left;

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

export class NodeStateTable {
  // Probe order; reshuffled every full round.
  private readonly list: NodeRecord[] = [];
  private readonly byName = new Map<string, NodeRecord>();
  private probeIndex = 0;
  private stopped = false;

  constructor(private readonly ctx: StateContext) {}

  private get config(): Config {
    return this.ctx.config;
  }

  get size(): number {
    return this.list.length;
  }

  get(name: string): NodeRecord | undefined {
    return this.byName.get(name);
  }

  get local(): NodeRecord {
    return this.byName.get(this.config.name)!;
  }

  all(): readonly NodeRecord[] {
    return this.list;
  }

  findByAddress(host: string, port: number): NodeRecord | undefined {
    return this.list.find((n) => n.port === port && addrToString(n.addr) === host);
  }

  // Up to k distinct other nodes passing `accept`, in random order.
  // Random draws cost O(k) in the common case, where filtering and shuffling the whole list on every
  // gossip tick would cost O(N); a scan from a random start finds the rest when few nodes qualify.
  randomNodes(k: number, accept: (n: NodeRecord) => boolean): NodeRecord[] {
    const n = this.list.length;
    const picked: NodeRecord[] = [];
    const consider = (node: NodeRecord) => {
      if (node.name !== this.config.name && !picked.includes(node) && accept(node)) picked.push(node);
    };
    for (let i = 0; i < 3 * k && picked.length < k; i++) consider(this.list[Math.floor(Math.random() * n)]);
    const start = Math.floor(Math.random() * n);
    for (let i = 0; i < n && picked.length < k; i++) consider(this.list[(start + i) % n]);
    return picked;
  }

  // Round-robin over a shuffled list, skipping ourselves and the dead.
  nextProbeTarget(): NodeRecord | undefined {
    for (let checked = 0; checked <= this.list.length; checked++) {
      if (this.probeIndex >= this.list.length) {
        this.startProbeRound();
        continue;
      }
      const n = this.list[this.probeIndex++];
      if (n.name !== this.config.name && !isDeadOrLeft(n)) return n;
    }
    return undefined;
  }

  // Between rounds: forget nodes dead for longer than GossipToTheDeadTime (left nodes stay, as in
  // memberlist 0.2.2), then reshuffle.
  private startProbeRound(): void {
    const cutoff = Date.now() - this.config.gossipToTheDeadTimeMs;
    for (let i = this.list.length - 1; i >= 0; i--) {
      const n = this.list[i];
      if (n.state === NodeStateType.Dead && n.stateChange < cutoff && n.name !== this.config.name) {
        this.list.splice(i, 1);
        this.byName.delete(n.name);
      }
    }
    shuffle(this.list);
    this.probeIndex = 0;
  }

  // Every node, for a push/pull.
  pushStates(): PushNodeState[] {
    return this.list.map((n) => ({
      name: n.name,
      addr: n.addr,
      port: n.port,
      meta: n.meta,
      incarnation: n.incarnation,
      state: n.state,
      vsn: n.vsn,
    }));
  }

  stop(): void {
    this.stopped = true;
    for (const n of this.list) n.suspicion?.stop();
  }

  // Application callbacks must not break the table's invariants (or escape a packet handler).
  private notify(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.config.logger.warn(`${what} delegate threw`, { error: (err as Error).message });
    }
  }

  aliveNode(a: Alive, bootstrap: boolean, finished?: () => void): void {
    const isLocal = a.node === this.config.name;
    // An alive about us still in flight when we leave must not bring us back.
    if (isLocal && this.ctx.isLeaving()) return;
    if (!this.wellFormedAlive(a) || !this.aliveAccepted(a, isLocal)) return;
    const found = this.recordForAlive(a);
    if (!found) return;
    const { state, addressReclaimed } = found;

    if (a.incarnation <= state.incarnation && !isLocal && !addressReclaimed) return;
    if (a.incarnation < state.incarnation && isLocal) return;
    state.suspicion?.stop();
    state.suspicion = undefined;
    const oldState = state.state;
    const oldMeta = state.meta;

    if (isLocal && !bootstrap) {
      // Someone else speaks for us: fine if it is exactly what we said, otherwise out-shout it.
      const sameAsOurs =
        a.incarnation === state.incarnation &&
        a.meta.equals(state.meta) &&
        Buffer.from(a.vsn).equals(Buffer.from(state.vsn));
      if (sameAsOurs) return;
      this.refute(state, a.incarnation);
      this.config.logger.warn('refuting an alive message about us', { incarnation: a.incarnation });
    } else {
      this.adoptAlive(state, a, finished);
    }
    this.aliveEvent(state, oldState, oldMeta);
  }

  // After an alive message: a join event if the node was dead or gone, an update if its meta changed.
  private aliveEvent(state: NodeRecord, oldState: NodeStateType, oldMeta: Buffer): void {
    const events = this.config.events;
    if (!events) return;
    const node = toNode(state);
    if (oldState === NodeStateType.Dead || oldState === NodeStateType.Left)
      this.notify('join event', () => events.notifyJoin(node));
    else if (!oldMeta.equals(state.meta)) this.notify('update event', () => events.notifyUpdate(node));
    else if (oldState === NodeStateType.Suspect && events.notifySuspicion)
      this.notify('suspicion event', () => events.notifySuspicion!(node));
  }

  // aliveNode's checks of the message itself: a name, a sound version vector, an address.
  private wellFormedAlive(a: Alive): boolean {
    if (a.node === '') return false;
    // memberlist 0.2.2 crashes on a short Vsn and a missing one poisons every later push/pull
    // (version 0 is incompatible), so only a full six-byte Vsn is taken.
    if (a.vsn.length !== 6) {
      this.config.logger.warn('ignored an alive message without a six-byte version vector', {
        node: a.node,
        length: a.vsn.length,
      });
      return false;
    }
    if (a.vsn[0] === 0 || a.vsn[1] === 0 || a.vsn[0] > a.vsn[1]) {
      this.config.logger.warn('ignored an alive message with an invalid protocol range', { node: a.node, vsn: a.vsn });
      return false;
    }
    if (a.addr.length !== 4 && a.addr.length !== 16) {
      this.config.logger.warn('ignored an alive message with a malformed address', {
        node: a.node,
        length: a.addr.length,
      });
      return false;
    }
    return true;
  }

  // The alive delegate may veto any node but us.
  private aliveAccepted(a: Alive, isLocal: boolean): boolean {
    const aliveDelegate = this.config.alive;
    if (isLocal || !aliveDelegate) return true;
    try {
      aliveDelegate.notifyAlive({
        name: a.node,
        addr: addrToString(a.addr),
        port: a.port,
        meta: a.meta,
        state: NodeStateType.Alive,
        incarnation: a.incarnation,
        vsn: [...a.vsn],
      });
      return true;
    } catch (err) {
      this.config.logger.warn('alive message vetoed', { node: a.node, error: (err as Error).message });
      return false;
    }
  }

  // The record an alive message applies to: a new one for a new name; undefined (after telling the
  // conflict delegate) when it claims another address for a name that still holds its own.
  private recordForAlive(a: Alive): { state: NodeRecord; addressReclaimed: boolean } | undefined {
    const state = this.byName.get(a.node);
    if (!state) return { state: this.addNode(a), addressReclaimed: false };
    if (sameAddr(state.addr, a.addr) && state.port === a.port) return { state, addressReclaimed: false };
    const reclaimable =
      this.config.deadNodeReclaimTimeMs > 0 && Date.now() - state.stateChange > this.config.deadNodeReclaimTimeMs;
    if (state.state === NodeStateType.Left || (state.state === NodeStateType.Dead && reclaimable))
      return { state, addressReclaimed: true };
    this.config.logger.warn('conflicting address for a node name', {
      node: a.node,
      known: `${addrToString(state.addr)}:${state.port}`,
      claimed: `${addrToString(a.addr)}:${a.port}`,
    });
    const existing = toNode(state);
    const conflict = this.config.conflict;
    if (conflict)
      this.notify('conflict', () =>
        conflict.notifyConflict(existing, { ...existing, addr: addrToString(a.addr), port: a.port, meta: a.meta }),
      );
    return undefined;
  }

  private addNode(a: Alive): NodeRecord {
    // A new name starts out dead at incarnation 0, so an alive at incarnation 0 never makes a
    // node alive (as in memberlist).
    const state: NodeRecord = {
      name: a.node,
      addr: a.addr,
      port: a.port,
      meta: a.meta,
      incarnation: 0,
      state: NodeStateType.Dead,
      stateChange: Date.now(),
      vsn: [...a.vsn],
    };
    this.byName.set(a.node, state);
    // Swap into a random position: nodes joining together still get probed in a fair order.
    const offset = Math.floor(Math.random() * (this.list.length + 1));
    this.list.push(state);
    [this.list[offset], this.list[this.list.length - 1]] = [this.list[this.list.length - 1], this.list[offset]];
    return state;
  }

  // Pass the alive message on and take what it says.
  private adoptAlive(state: NodeRecord, a: Alive, finished?: () => void): void {
    this.ctx.broadcast(a.node, encodeAlive(a), finished);
    state.vsn = [...a.vsn];
    state.incarnation = a.incarnation;
    state.meta = a.meta;
    state.addr = a.addr;
    state.port = a.port;
    if (state.state !== NodeStateType.Alive) {
      state.state = NodeStateType.Alive;
      state.stateChange = Date.now();
    }
  }

  // Beat the accusation's incarnation and say so loudly.
  refute(self: NodeRecord, accusedIncarnation: number): void {
    // Incarnations are uint32 on the wire: at the top there is nothing left to beat, and wrapping
    // to 0 (as Go's arithmetic would) could never win either.
    self.incarnation = Math.min(MAX_INCARNATION, Math.max(self.incarnation + 1, accusedIncarnation + 1));
    this.ctx.onRefute();
    const { addr, port } = this.ctx.advertised();
    this.ctx.broadcast(
      self.name,
      encodeAlive({
        incarnation: self.incarnation,
        node: self.name,
        addr,
        port,
        meta: self.meta,
        vsn: this.ctx.localVsn(),
      }),
    );
  }

  suspectNode(s: Suspect): void {
    const state = this.byName.get(s.node);
    if (!state || s.incarnation < state.incarnation) return;
    // Already suspect: an independent confirmation shortens the timeout and is passed on.
    if (state.suspicion) {
      if (state.suspicion.confirm(s.from)) this.ctx.broadcast(s.node, encodeSuspect(s));
      return;
    }
    if (state.state !== NodeStateType.Alive) return;
    if (s.node === this.config.name) {
      if (!this.ctx.isLeaving()) {
        this.refute(state, s.incarnation);
        this.config.logger.warn('refuting a suspect message', { from: s.from });
      }
      return;
    }
    this.ctx.broadcast(s.node, encodeSuspect(s));
    state.incarnation = s.incarnation;
    state.state = NodeStateType.Suspect;
    const changedAt = Date.now();
    state.stateChange = changedAt;
    const events = this.config.events;
    if (events?.notifySuspicion) this.notify('suspicion event', () => events.notifySuspicion!(toNode(state)));

    // Lifeguard: expect SuspicionMult - 2 independent confirmations, or none when the cluster is too
    // small to give them (n counts every known node, as memberlist's estimate does).
    const n = this.list.length;
    const expected = n - 2 < this.config.suspicionMult - 2 ? 0 : this.config.suspicionMult - 2;
    const min = suspicionTimeoutMs(this.config.suspicionMult, n, this.config.probeIntervalMs);
    const max = this.config.suspicionMaxTimeoutMult * min;
    state.suspicion = new Suspicion(s.from, expected, min, max, (confirmations) => {
      if (this.stopped || state.state !== NodeStateType.Suspect || state.stateChange !== changedAt) return;
      this.config.logger.info('marking a suspect node dead', { node: state.name, confirmations });
      this.deadNode({ incarnation: state.incarnation, node: state.name, from: this.config.name });
    });
  }

  // `finished` runs once the dead broadcast has been sent enough times (or at once if there is
  // nothing to broadcast): leave() waits on it.
  deadNode(d: Dead, finished?: () => void): void {
    const state = this.byName.get(d.node);
    if (!state || d.incarnation < state.incarnation) {
      finished?.();
      return;
    }
    state.suspicion?.stop();
    state.suspicion = undefined;
    if (isDeadOrLeft(state)) {
      finished?.();
      return;
    }
    if (d.node === this.config.name && !this.ctx.isLeaving()) {
      this.refute(state, d.incarnation);
      this.config.logger.warn('refuting a dead message', { from: d.from });
      finished?.();
      return;
    }
    this.ctx.broadcast(d.node, encodeDead(d), finished);
    state.incarnation = d.incarnation;
    // A node that announces its own death has left gracefully.
    state.state = d.node === d.from ? NodeStateType.Left : NodeStateType.Dead;
    state.stateChange = Date.now();
    const events = this.config.events;
    if (events) {
      const node = toNode(state);
      this.notify('leave event', () => events.notifyLeave(node));
    }
  }

  // A peer's push/pull node list. Throws, merging nothing, when versions clash
  // (ProtocolMismatchError) or the merge delegate vetoes it.
  mergeRemoteStates(remote: PushNodeState[]): void {
    this.verifyProtocol(remote);
    this.config.merge?.notifyMerge(remote.map(toNode));
    for (const s of remote) {
      switch (s.state) {
        case NodeStateType.Alive:
          this.aliveNode(
            { incarnation: s.incarnation, node: s.name, addr: s.addr, port: s.port, meta: s.meta, vsn: s.vsn },
            false,
          );
          break;
        case NodeStateType.Left:
          this.deadNode({ incarnation: s.incarnation, node: s.name, from: s.name });
          break;
        default:
          // Someone else's "dead" is not trusted outright: here it only raises a suspicion.
          this.suspectNode({ incarnation: s.incarnation, node: s.name, from: this.config.name });
      }
    }
  }

  // memberlist's verifyProtocol: every node's current versions, in any state, must lie inside the
  // range that all alive nodes (ours and theirs) support.
  private verifyProtocol(remote: PushNodeState[]): void {
    const aliveVsns = [
      ...this.list.filter((n) => n.state === NodeStateType.Alive && n.vsn.length === 6).map((n) => n.vsn),
      ...remote.filter((s) => s.state === NodeStateType.Alive && s.vsn.length === 6).map((s) => s.vsn),
    ];
    if (aliveVsns.length === 0) return;
    const maxPMin = Math.max(...aliveVsns.map((v) => v[0]));
    const minPMax = Math.min(...aliveVsns.map((v) => v[1]));
    const maxDMin = Math.max(...aliveVsns.map((v) => v[3]));
    const minDMax = Math.min(...aliveVsns.map((v) => v[4]));
    for (const { name, vsn } of [...this.list, ...remote]) {
      const pcur = vsn.length === 6 ? vsn[2] : 0;
      const dcur = vsn.length === 6 ? vsn[5] : 0;
      if (pcur < maxPMin || pcur > minPMax)
        throw new ProtocolMismatchError(
          `node '${name}' protocol version (${pcur}) is incompatible: [${maxPMin}, ${minPMax}]`,
        );
      if (dcur < maxDMin || dcur > minDMax)
        throw new ProtocolMismatchError(
          `node '${name}' delegate protocol version (${dcur}) is incompatible: [${maxDMin}, ${minDMax}]`,
        );
    }
  }
}
