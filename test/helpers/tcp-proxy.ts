import * as net from 'node:net';
import { once } from 'node:events';

// A loopback TCP relay that a test can cut and restore: a replica reaching etcd through it is
// partitioned from etcd without touching etcd itself.
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private cut = false;

  private readonly server: net.Server;
  endpoint = '';

  private constructor(target: { host: string; port: number }) {
    this.server = net.createServer((client) => this.relay(client, target));
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    proxy.endpoint = `http://127.0.0.1:${(proxy.server.address() as net.AddressInfo).port}`;
    return proxy;
  }

  private relay(client: net.Socket, target: { host: string; port: number }): void {
    if (this.cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  // Drops every connection and refuses new ones until restore().
  partition(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.cut = false;
  }

  async stop(): Promise<void> {
    this.partition();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
