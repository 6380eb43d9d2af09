import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

/**
 * A TCP proxy on loopback that can add latency to everything it forwards:
 * a slow network between a client and a real server, without touching either.
 */
export class LatencyProxy {
  #latencyMs = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      this.#pipe(client, upstream);
      this.#pipe(upstream, client);
    });
  }

  static async start(target: { host: string; port: number }): Promise<LatencyProxy> {
    const proxy = new LatencyProxy(target);
    proxy.#server.listen(0, '127.0.0.1');
    await new Promise((resolve) => proxy.#server.once('listening', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Delay added to each chunk in each direction, from now on. */
  set latencyMs(value: number) {
    this.#latencyMs = value;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #pipe(from: Socket, to: Socket): void {
    // Chunks leave in the order they came, even when the latency changes in between.
    let lastDueAt = 0;
    from.on('data', (chunk) => {
      const dueAt = Math.max(Date.now() + this.#latencyMs, lastDueAt);
      lastDueAt = dueAt;
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, dueAt - Date.now());
    });
    from.on('end', () => {
      setTimeout(() => to.end(), Math.max(0, lastDueAt - Date.now()));
    });
  }
}
