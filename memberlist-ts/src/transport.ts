import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';

export interface PacketHandler {
  (packet: Buffer, fromHost: string, fromPort: number): void;
}

export interface StreamHandler {
  (stream: Duplex, fromHost: string): void;
}

// Where packets and streams come from and go to: real sockets, or an in-process network for
// simulations of many nodes.
export interface Transport {
  // Binds; returns the port actually bound (for a requested port of 0).
  listen(onPacket: PacketHandler, onStream: StreamHandler): Promise<number>;
  sendPacket(packet: Buffer, host: string, port: number): void;
  dial(host: string, port: number, timeoutMs: number): Promise<Duplex>;
  close(): Promise<void>;
}

// One UDP socket and one TCP listener on the same address and port, as memberlist does.
export class NetTransport implements Transport {
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;
  private readonly streams = new Set<net.Socket>();

  constructor(
    private readonly bindAddr: string,
    private readonly bindPort: number,
  ) {}

  async listen(onPacket: PacketHandler, onStream: StreamHandler): Promise<number> {
    const type = net.isIPv6(this.bindAddr) ? 'udp6' : 'udp4';
    // TCP first so a requested port of 0 gives UDP the same number.
    const tcp = net.createServer((socket) => {
      this.streams.add(socket);
      socket.on('close', () => this.streams.delete(socket));
      socket.on('error', () => undefined);
      onStream(socket, socket.remoteAddress?.replace(/^::ffff:/, '') ?? '');
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.bindPort, this.bindAddr, () => resolve());
    });
    this.tcp = tcp;
    const port = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket({ type, recvBufferSize: 2 * 1024 * 1024 });
    udp.on('message', (msg, rinfo) => {
      if (msg.length > 0) onPacket(msg, rinfo.address.replace(/^::ffff:/, ''), rinfo.port);
    });
    udp.on('error', () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, this.bindAddr, () => resolve());
      });
    } catch (err) {
      // Someone else holds the UDP port: release the TCP one too.
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      this.tcp = undefined;
      throw err;
    }
    this.udp = udp;
    return port;
  }

  // Best effort, like UDP itself: a bad address or a full buffer drops the packet, never throws.
  sendPacket(packet: Buffer, host: string, port: number): void {
    if (!this.udp || host === '' || port <= 0 || port > 65535) return;
    try {
      this.udp.send(packet, port, host, () => undefined);
    } catch {
      // Dropped, as a lost datagram would be.
    }
  }

  dial(host: string, port: number, timeoutMs: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        // Readers listen for errors while they read; one arriving later must not crash the process.
        socket.on('error', () => undefined);
        this.streams.add(socket);
        socket.on('close', () => this.streams.delete(socket));
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.streams) s.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
  }
}

// An in-process network: packets are delivered on the next turn of the event loop (or dropped, to
// simulate loss and partitions), streams are pairs of in-memory pipes.
export class MemoryNetwork {
  private readonly endpoints = new Map<string, { onPacket: PacketHandler; onStream: StreamHandler }>();
  private nextPort = 10_000;
  // Return true to drop a packet from -> to.
  dropPacket: (from: string, to: string) => boolean = () => false;
  // Return false to refuse a stream from -> to.
  allowStream: (from: string, to: string) => boolean = () => true;

  transport(host: string): Transport {
    return new MemoryTransport(this, host);
  }

  register(host: string, port: number, handlers: { onPacket: PacketHandler; onStream: StreamHandler }): number {
    const p = port === 0 ? this.nextPort++ : port;
    this.endpoints.set(`${host}:${p}`, handlers);
    return p;
  }

  unregister(host: string, port: number): void {
    this.endpoints.delete(`${host}:${port}`);
  }

  deliver(packet: Buffer, from: { host: string; port: number }, host: string, port: number): void {
    const target = this.endpoints.get(`${host}:${port}`);
    if (!target || this.dropPacket(`${from.host}:${from.port}`, `${host}:${port}`)) return;
    const copy = Buffer.from(packet);
    setImmediate(() => target.onPacket(copy, from.host, from.port));
  }

  connect(from: { host: string; port: number }, host: string, port: number): Duplex {
    const target = this.endpoints.get(`${host}:${port}`);
    if (!target || !this.allowStream(`${from.host}:${from.port}`, `${host}:${port}`))
      throw new Error(`connection to ${host}:${port} refused`);
    const [a, b] = duplexPair();
    setImmediate(() => target.onStream(b, from.host));
    return a;
  }
}

function duplexPair(): [Duplex, Duplex] {
  const ab = new PassThrough();
  const ba = new PassThrough();
  const make = (readable: PassThrough, writable: PassThrough): Duplex => {
    const d = new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        writable.write(chunk, cb);
      },
      final(cb) {
        writable.end();
        cb();
      },
    });
    readable.on('data', (c) => d.push(c));
    readable.on('end', () => d.push(null));
    return d;
  };
  return [make(ba, ab), make(ab, ba)];
}

class MemoryTransport implements Transport {
  private port = 0;

  constructor(
    private readonly network: MemoryNetwork,
    private readonly host: string,
  ) {}

  async listen(onPacket: PacketHandler, onStream: StreamHandler): Promise<number> {
    this.port = this.network.register(this.host, 0, { onPacket, onStream });
    return this.port;
  }

  sendPacket(packet: Buffer, host: string, port: number): void {
    this.network.deliver(packet, { host: this.host, port: this.port }, host, port);
  }

  async dial(host: string, port: number): Promise<Duplex> {
    return this.network.connect({ host: this.host, port: this.port }, host, port);
  }

  async close(): Promise<void> {
    this.network.unregister(this.host, this.port);
  }
}
