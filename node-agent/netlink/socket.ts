import { constants } from 'node:os';
import { NETLINK_ROUTE, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI } from './constants';
import { NetlinkDecodeError, NetlinkError, NetlinkResyncNeeded, NetlinkTimeoutError } from './errors';
import { NetlinkMessage, parseErrorReply, splitMessages } from './message';
import { NativeHandle, nativeNetlink } from './native';

export interface SocketOptions {
  protocol?: number;
  // Multicast groups (RTNLGRP_*) for a notification socket; a request socket joins none.
  groups?: number[];
  // Path of a network namespace (e.g. /run/netns/NAME) to open the socket in.
  netns?: string;
  // Requests sent but not yet answered. Bounded so acks can never overflow the receive buffer.
  maxInFlight?: number;
  // Bytes per send(2): the kernel handles every message of a datagram in one system call.
  maxBatchBytes?: number;
  receiveBuffer?: number;
  timeoutMs?: number;
}

export interface RequestDescription {
  operation: string;
  object: string;
}

interface Pending extends RequestDescription {
  seq: number;
  message: Buffer;
  dump: boolean;
  replies: NetlinkMessage[];
  deadline: number;
  resolve(replies: NetlinkMessage[]): void;
  reject(err: Error): void;
}

const DEFAULTS = { maxInFlight: 1024, maxBatchBytes: 64 * 1024, receiveBuffer: 32 * 1024 * 1024, timeoutMs: 10_000 };

// A netlink socket with request/response matching by sequence number, a bounded window of requests
// in flight, many requests per send(2), one dump at a time (the kernel refuses a second with EBUSY),
// and a deadline on every request. Nothing received, however malformed, throws out of this class.
export class NetlinkSocket {
  private readonly native = nativeNetlink();
  private readonly handle: NativeHandle;
  readonly portId: number;
  private readonly options: typeof DEFAULTS;
  private nextSeq = 1;
  private readonly inFlight = new Map<number, Pending>();
  private readonly waiting: Pending[] = [];
  private waitingHead = 0;
  private readonly waitingDumps: Pending[] = [];
  private dumpInFlight = false;
  private flushScheduled = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private notificationHandler: ((message: NetlinkMessage) => void) | undefined;
  private problemHandler: ((err: Error) => void) | undefined;

  constructor(options: SocketOptions = {}) {
    this.options = {
      maxInFlight: options.maxInFlight ?? DEFAULTS.maxInFlight,
      maxBatchBytes: options.maxBatchBytes ?? DEFAULTS.maxBatchBytes,
      receiveBuffer: options.receiveBuffer ?? DEFAULTS.receiveBuffer,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
    };
    const opened = this.native.open(options.protocol ?? NETLINK_ROUTE, options.groups ?? [], this.options.receiveBuffer, options.netns ?? null);
    this.handle = opened.handle;
    this.portId = opened.portId;
    this.native.start(this.handle, (err, data) => this.onData(err, data));
    // A socket with nothing outstanding must not keep the process alive.
    this.native.ref(this.handle, false);
  }

  // Multicast messages (and anything not matching a request) go here.
  onNotification(handler: (message: NetlinkMessage) => void): void {
    this.notificationHandler = handler;
  }

  // Lost messages (ENOBUFS), undecodable datagrams, socket errors: never thrown, reported here.
  onProblem(handler: (err: Error) => void): void {
    this.problemHandler = handler;
  }

  // Sends a fully built message (see MessageWriter); resolves with the replies (for a dump, every
  // part; for a get, the object) once the kernel acknowledges, rejects with a NetlinkError naming
  // `description` if it refuses.
  request(message: Buffer, description: RequestDescription): Promise<NetlinkMessage[]> {
    if (this.closed) return Promise.reject(new Error(`${description.operation} ${description.object}: netlink socket is closed`));
    const flags = message.readUInt16LE(6);
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    if (!dump) message.writeUInt16LE(flags | NLM_F_ACK, 6);
    return new Promise((resolve, reject) => {
      const pending: Pending = { ...description, seq: 0, message, dump, replies: [], deadline: 0, resolve, reject };
      if (dump) this.waitingDumps.push(pending);
      else this.waiting.push(pending);
      this.scheduleFlush();
    });
  }

  get outstanding(): number {
    return this.inFlight.size + (this.waiting.length - this.waitingHead) + this.waitingDumps.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.native.close(this.handle);
    const err = () => new Error('netlink socket closed with the request outstanding');
    for (const p of this.inFlight.values()) p.reject(err());
    for (let i = this.waitingHead; i < this.waiting.length; i++) this.waiting[i].reject(err());
    for (const p of this.waitingDumps) p.reject(err());
    this.inFlight.clear();
    this.waiting.length = 0;
    this.waitingDumps.length = 0;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    // Requests made in the same tick share datagrams.
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const batch: Buffer[] = [];
    let bytes = 0;
    const sendBatch = () => {
      if (batch.length === 0) return true;
      const data = batch.length === 1 ? batch[0] : Buffer.concat(batch, bytes);
      batch.length = 0;
      bytes = 0;
      try {
        this.native.send(this.handle, data);
        return true;
      } catch (err) {
        this.failBatch(data, err as Error & { errno?: number });
        return false;
      }
    };
    const admit = (p: Pending) => {
      if (bytes + p.message.length > this.options.maxBatchBytes && !sendBatch()) return;
      p.seq = this.allocateSeq();
      p.message.writeUInt32LE(p.seq, 8);
      p.deadline = Date.now() + this.options.timeoutMs;
      this.inFlight.set(p.seq, p);
      batch.push(p.message);
      bytes += p.message.length;
    };
    if (!this.dumpInFlight && this.waitingDumps.length > 0 && this.inFlight.size < this.options.maxInFlight) {
      this.dumpInFlight = true;
      admit(this.waitingDumps.shift()!);
    }
    while (this.waitingHead < this.waiting.length && this.inFlight.size < this.options.maxInFlight) {
      admit(this.waiting[this.waitingHead]);
      this.waiting[this.waitingHead++] = undefined as unknown as Pending;
    }
    if (this.waitingHead === this.waiting.length) {
      this.waiting.length = 0;
      this.waitingHead = 0;
    }
    sendBatch();
    this.native.ref(this.handle, this.inFlight.size > 0);
    if (this.inFlight.size > 0 && this.sweepTimer === undefined) {
      this.sweepTimer = setInterval(() => this.sweepExpired(), Math.min(1000, this.options.timeoutMs));
    }
  }

  private allocateSeq(): number {
    const seq = this.nextSeq;
    this.nextSeq = this.nextSeq >= 0xffffffff ? 1 : this.nextSeq + 1;
    return seq;
  }

  // send(2) refused the whole datagram: every request in it fails with that errno.
  private failBatch(data: Buffer, err: Error & { errno?: number }): void {
    splitMessages(data, (m) => {
      const p = this.inFlight.get(m.seq);
      if (p) this.settle(p, new NetlinkError(err.errno ?? constants.errno.EIO, p.operation, p.object, `send: ${err.message}`));
    });
  }

  private onData(err: (Error & { errno?: number }) | undefined, data: Buffer | undefined): void {
    if (err) {
      this.onReceiveError(err);
      return;
    }
    if (data === undefined) return;
    try {
      splitMessages(data, (m) => this.dispatch(m));
    } catch (decodeErr) {
      this.problemHandler?.(decodeErr as Error);
    }
    this.scheduleFlush();
  }

  private onReceiveError(err: Error & { errno?: number }): void {
    // Overflow: replies may be lost, so nothing in flight can be trusted to complete.
    const resync = new NetlinkResyncNeeded(`netlink receive buffer overflowed: ${err.message}; state must be re-read`);
    if (err.errno === constants.errno.ENOBUFS) {
      for (const p of [...this.inFlight.values()]) this.settle(p, resync);
      this.problemHandler?.(resync);
      this.scheduleFlush();
      return;
    }
    this.problemHandler?.(err);
  }

  private dispatch(m: NetlinkMessage): void {
    const p = m.portId === this.portId || m.portId === 0 ? this.inFlight.get(m.seq) : undefined;
    if (p === undefined || m.seq === 0) {
      if (m.type !== NLMSG_NOOP && m.type !== NLMSG_ERROR && m.type !== NLMSG_DONE) this.notificationHandler?.(m);
      return;
    }
    p.deadline = Date.now() + this.options.timeoutMs;
    if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
      const { errno, kernelMessage } = parseErrorReply(m);
      if (errno !== 0) this.settle(p, new NetlinkError(errno, p.operation, p.object, kernelMessage));
      else if (p.dump && m.flags & NLM_F_DUMP_INTR) this.settle(p, new NetlinkResyncNeeded(`${p.operation} ${p.object}: the dump was interrupted by a concurrent change; retry it`));
      else this.settle(p);
      return;
    }
    if (m.type === NLMSG_OVERRUN) {
      this.settle(p, new NetlinkDecodeError(`${p.operation} ${p.object}: kernel reported an overrun`));
      return;
    }
    // Replies point into a shared receive chunk; keep them (it stays alive while referenced).
    if (p.dump && !(m.flags & NLM_F_MULTI)) {
      this.notificationHandler?.(m);
      return;
    }
    p.replies.push(m);
  }

  private settle(p: Pending, err?: Error): void {
    if (!this.inFlight.delete(p.seq)) return;
    if (p.dump) this.dumpInFlight = false;
    if (err) p.reject(err);
    else p.resolve(p.replies);
    if (this.inFlight.size === 0) {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
      if (!this.closed) this.native.ref(this.handle, false);
    }
    this.scheduleFlush();
  }

  private sweepExpired(): void {
    const now = Date.now();
    for (const p of [...this.inFlight.values()]) {
      if (p.deadline <= now) this.settle(p, new NetlinkTimeoutError(`${p.operation} ${p.object}: no answer from the kernel within ${this.options.timeoutMs} ms`));
    }
  }
}
