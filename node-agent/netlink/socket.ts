import { constants } from 'node:os';
import {
  NETLINK_ROUTE,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
} from './constants';
import { NetlinkDecodeError, NetlinkError, NetlinkResyncNeeded, NetlinkTimeoutError } from './errors';
import { NetlinkMessage, parseErrorReply, splitMessages } from './message';
import { MessageWriter } from './message-writer';
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
  replies: unknown[];
  // Dumps decode each part as it arrives, so received datagrams are freed as they are read.
  decode: ((m: NetlinkMessage) => unknown) | undefined;
  deadline: number;
  resolve(replies: unknown[]): void;
  reject(err: Error): void;
}

// Many acknowledged requests of one kind (e.g. 100,000 FDB adds) under one contiguous range of
// sequence numbers: no promise or bookkeeping object per request.
interface BulkJob {
  count: number;
  encode(index: number, w: MessageWriter): void;
  describe(index: number): RequestDescription;
  seqBase: number;
  sent: number;
  acked: number;
  errors: Array<Error | undefined>;
  // 1 once a request is answered (or failed locally): late or duplicate answers are ignored.
  done: Uint8Array;
  deadline: number;
  resolve(errors: Array<Error | undefined>): void;
}

const DEFAULTS = { maxInFlight: 4096, maxBatchBytes: 64 * 1024, receiveBuffer: 32 * 1024 * 1024, timeoutMs: 10_000 };
const MAX_SEQ = 0xffffffff;

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
  private readonly bulkJobs: BulkJob[] = [];
  private readonly bulkWriter = new MessageWriter(0, 0, 512);
  private readonly batch: Buffer;
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
    this.batch = Buffer.alloc(this.options.maxBatchBytes);
    const opened = this.native.open(
      options.protocol ?? NETLINK_ROUTE,
      options.groups ?? [],
      this.options.receiveBuffer,
      options.netns ?? null,
    );
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
    return this.enqueue(message, description, undefined) as Promise<NetlinkMessage[]>;
  }

  // A dump whose parts of `type` are decoded as they arrive; one undecodable part fails the dump
  // loudly rather than hiding an object from the caller.
  dump<T>(
    message: Buffer,
    description: RequestDescription,
    type: number,
    decode: (payload: Buffer) => T,
  ): Promise<T[]> {
    const filtered = (m: NetlinkMessage) => (m.type === type ? decode(m.payload) : undefined);
    return this.enqueue(message, description, filtered).then((all) => all.filter((x) => x !== undefined) as T[]);
  }

  private enqueue(message: Buffer, description: RequestDescription, decode: Pending['decode']): Promise<unknown[]> {
    if (this.closed)
      return Promise.reject(new Error(`${description.operation} ${description.object}: netlink socket is closed`));
    const flags = message.readUInt16LE(6);
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    if (!dump) message.writeUInt16LE(flags | NLM_F_ACK, 6);
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        operation: description.operation,
        object: description.object,
        seq: 0,
        message,
        dump,
        replies: [],
        decode,
        deadline: 0,
        resolve,
        reject,
      };
      if (dump) this.waitingDumps.push(pending);
      else this.waiting.push(pending);
      this.scheduleFlush();
    });
  }

  // Sends `count` acknowledged requests built by `encode` into a reused writer; resolves with one
  // entry per request: undefined if the kernel accepted it, else the error naming describe(i).
  bulk(
    count: number,
    encode: (index: number, w: MessageWriter) => void,
    describe: (index: number) => RequestDescription,
  ): Promise<Array<Error | undefined>> {
    if (this.closed) return Promise.reject(new Error('netlink socket is closed'));
    if (count === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      this.bulkJobs.push({
        count,
        encode,
        describe,
        seqBase: 0,
        sent: 0,
        acked: 0,
        errors: new Array<Error | undefined>(count),
        done: new Uint8Array(count),
        deadline: 0,
        resolve,
      });
      this.scheduleFlush();
    });
  }

  get outstanding(): number {
    let bulk = 0;
    for (const job of this.bulkJobs) bulk += job.count - job.acked;
    return this.inFlight.size + (this.waiting.length - this.waitingHead) + this.waitingDumps.length + bulk;
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
    for (const job of this.bulkJobs) {
      for (let i = 0; i < job.count; i++) if (!job.done[i]) job.errors[i] = err();
      job.resolve(job.errors);
    }
    this.inFlight.clear();
    this.waiting.length = 0;
    this.waitingDumps.length = 0;
    this.bulkJobs.length = 0;
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

  private get windowUsed(): number {
    const job = this.bulkJobs[0];
    return this.inFlight.size + (job ? job.sent - job.acked : 0);
  }

  private flush(): void {
    if (this.closed) return;
    let bytes = 0;
    const sendBatch = () => {
      if (bytes === 0) return;
      const data = this.batch.subarray(0, bytes);
      bytes = 0;
      try {
        this.native.send(this.handle, data);
      } catch (err) {
        this.failBatch(data, err as Error & { errno?: number });
      }
    };
    const append = (message: Buffer, seq: number) => {
      if (bytes + message.length > this.batch.length) sendBatch();
      message.copy(this.batch, bytes);
      this.batch.writeUInt32LE(seq, bytes + 8);
      bytes += message.length;
    };
    const admit = (p: Pending) => {
      p.seq = this.allocateSeqs(1);
      p.deadline = Date.now() + this.options.timeoutMs;
      this.inFlight.set(p.seq, p);
      append(p.message, p.seq);
    };
    const limit = this.options.maxInFlight;
    if (!this.dumpInFlight && this.waitingDumps.length > 0 && this.windowUsed < limit) {
      this.dumpInFlight = true;
      admit(this.waitingDumps.shift()!);
    }
    while (this.waitingHead < this.waiting.length && this.windowUsed < limit) {
      admit(this.waiting[this.waitingHead]);
      this.waiting[this.waitingHead++] = undefined as unknown as Pending;
    }
    if (this.waitingHead === this.waiting.length) {
      this.waiting.length = 0;
      this.waitingHead = 0;
    }
    const job = this.bulkJobs[0];
    if (job) {
      if (job.sent === 0) job.seqBase = this.allocateSeqs(job.count);
      const w = this.bulkWriter;
      while (job.sent < job.count && this.windowUsed < limit) {
        let message: Buffer;
        try {
          job.encode(job.sent, w);
          message = w.finish();
          message.writeUInt16LE(message.readUInt16LE(6) | NLM_F_ACK, 6);
        } catch (err) {
          // A bad item (e.g. an invalid MAC) fails alone; it is never sent.
          job.errors[job.sent] = err as Error;
          job.done[job.sent] = 1;
          job.sent++;
          job.acked++;
          continue;
        }
        append(message, job.seqBase + job.sent);
        job.sent++;
      }
      job.deadline = Date.now() + this.options.timeoutMs;
    }
    sendBatch();
    if (job && job.acked === job.count) this.finishBulk(job);
    const busy = this.windowUsed > 0;
    this.native.ref(this.handle, busy);
    if (busy && this.sweepTimer === undefined) {
      this.sweepTimer = setInterval(() => this.sweepExpired(), Math.min(1000, this.options.timeoutMs));
    }
  }

  // Consecutive sequence numbers, never 0 (the kernel's own notifications use 0) and never wrapping
  // inside a bulk range.
  private allocateSeqs(count: number): number {
    if (this.nextSeq + count >= MAX_SEQ) this.nextSeq = 1;
    const first = this.nextSeq;
    this.nextSeq += count;
    return first;
  }

  // send(2) refused the whole datagram: every request in it fails with that errno.
  private failBatch(data: Buffer, err: Error & { errno?: number }): void {
    const errno = err.errno ?? constants.errno.EIO;
    splitMessages(Buffer.from(data), (m) =>
      this.complete(m.seq, (d) => new NetlinkError(errno, d.operation, d.object, `send: ${err.message}`)),
    );
  }

  private onData(err: (Error & { errno?: number }) | undefined, data: Buffer | undefined): void {
    if (err) this.onReceiveError(err);
    else if (data !== undefined) this.walk(data);
    this.scheduleFlush();
  }

  // Walks the received messages without allocating for plain acks, which dominate bulk traffic.
  private walk(data: Buffer): void {
    let offset = 0;
    while (offset + NLMSG_HDRLEN <= data.length) {
      const length = data.readUInt32LE(offset);
      if (length < NLMSG_HDRLEN || offset + length > data.length) {
        this.problemHandler?.(
          new NetlinkDecodeError(
            `netlink message at offset ${offset} claims ${length} bytes; ${data.length - offset} remain; rest of the datagram dropped`,
          ),
        );
        return;
      }
      const type = data.readUInt16LE(offset + 4);
      const seq = data.readUInt32LE(offset + 8);
      const portId = data.readUInt32LE(offset + 12);
      const ours = seq !== 0 && (portId === this.portId || portId === 0);
      if (ours && type === NLMSG_ERROR && length >= NLMSG_HDRLEN + 4 && data.readInt32LE(offset + NLMSG_HDRLEN) === 0) {
        this.complete(seq, undefined);
      } else {
        this.dispatch(
          {
            type,
            flags: data.readUInt16LE(offset + 6),
            seq,
            portId,
            payload: data.subarray(offset + NLMSG_HDRLEN, offset + length),
          },
          ours,
        );
      }
      offset += (length + 3) & ~3;
    }
  }

  private onReceiveError(err: Error & { errno?: number }): void {
    if (err.errno !== constants.errno.ENOBUFS) {
      this.problemHandler?.(err);
      return;
    }
    // Overflow: replies may be lost, so nothing in flight can be trusted to complete.
    const resync = () =>
      new NetlinkResyncNeeded(`netlink receive buffer overflowed: ${err.message}; state must be re-read`);
    for (const p of [...this.inFlight.values()]) this.settle(p, resync());
    const job = this.bulkJobs[0];
    if (job) this.expireBulk(job, resync);
    this.problemHandler?.(resync());
  }

  // An ack (error undefined) or refusal for the request with this sequence number.
  private complete(seq: number, error: ((d: RequestDescription) => Error) | undefined): void {
    const job = this.bulkJobs[0];
    if (job && seq >= job.seqBase && seq < job.seqBase + job.sent) {
      const index = seq - job.seqBase;
      if (job.done[index]) return;
      job.done[index] = 1;
      if (error) job.errors[index] = error(job.describe(index));
      job.acked++;
      job.deadline = Date.now() + this.options.timeoutMs;
      if (job.acked === job.count) this.finishBulk(job);
      return;
    }
    const p = this.inFlight.get(seq);
    if (p) this.settle(p, error?.(p));
  }

  private dispatch(m: NetlinkMessage, ours: boolean): void {
    if (!ours) {
      if (m.type !== NLMSG_NOOP && m.type !== NLMSG_ERROR && m.type !== NLMSG_DONE) this.notificationHandler?.(m);
      return;
    }
    if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
      const { errno, kernelMessage } = parseErrorReply(m);
      const p = this.inFlight.get(m.seq);
      if (errno !== 0) this.complete(m.seq, (d) => new NetlinkError(errno, d.operation, d.object, kernelMessage));
      else if (p?.dump && m.flags & NLM_F_DUMP_INTR)
        this.settle(
          p,
          new NetlinkResyncNeeded(
            `${p.operation} ${p.object}: the dump was interrupted by a concurrent change; retry it`,
          ),
        );
      else this.complete(m.seq, undefined);
      return;
    }
    const p = this.inFlight.get(m.seq);
    if (p === undefined || (p.dump && !(m.flags & NLM_F_MULTI))) {
      this.notificationHandler?.(m);
      return;
    }
    if (m.type === NLMSG_OVERRUN) {
      this.settle(p, new NetlinkDecodeError(`${p.operation} ${p.object}: kernel reported an overrun`));
      return;
    }
    p.deadline = Date.now() + this.options.timeoutMs;
    if (p.decode === undefined) {
      // Replies point into the received chunk, which stays alive while they are referenced.
      p.replies.push(m);
      return;
    }
    try {
      const value = p.decode(m);
      if (value !== undefined) p.replies.push(value);
    } catch (err) {
      this.settle(p, new NetlinkDecodeError(`${p.operation} ${p.object}: ${(err as Error).message}`));
    }
  }

  private settle(p: Pending, err?: Error): void {
    if (!this.inFlight.delete(p.seq)) return;
    if (p.dump) this.dumpInFlight = false;
    if (err) p.reject(err);
    else p.resolve(p.replies);
    this.idleCheck();
  }

  private finishBulk(job: BulkJob): void {
    if (this.bulkJobs[0] !== job) return;
    this.bulkJobs.shift();
    job.resolve(job.errors);
    this.idleCheck();
  }

  private idleCheck(): void {
    this.scheduleFlush();
    if (this.windowUsed > 0 || this.closed) return;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.native.ref(this.handle, false);
  }

  // Every request sent but unanswered fails with `error`; unsent ones go out later as usual. We
  // cannot know which of them the kernel handled: the caller re-reads state, as after any overflow.
  private expireBulk(job: BulkJob, error: () => Error): void {
    for (let i = 0; i < job.sent; i++) {
      if (job.done[i]) continue;
      job.done[i] = 1;
      job.errors[i] = error();
    }
    job.acked = job.sent;
    if (job.acked === job.count) this.finishBulk(job);
  }

  private sweepExpired(): void {
    const now = Date.now();
    for (const p of [...this.inFlight.values()]) {
      if (p.deadline <= now)
        this.settle(
          p,
          new NetlinkTimeoutError(
            `${p.operation} ${p.object}: no answer from the kernel within ${this.options.timeoutMs} ms`,
          ),
        );
    }
    const job = this.bulkJobs[0];
    if (job && job.sent > job.acked && job.deadline <= now) {
      this.expireBulk(
        job,
        () => new NetlinkTimeoutError(`no answer from the kernel within ${this.options.timeoutMs} ms`),
      );
    }
  }
}
