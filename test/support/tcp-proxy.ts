import type { Socket, TCPSocketListener } from "bun";

/**
 * A TCP proxy on a free loopback port to `127.0.0.1:upstreamPort` that can lose the replies:
 * with {@link dropReplies} set, what the upstream sends is read and thrown away while what the
 * client sends still goes through (a one-way network fault: a request reaches Redis and runs,
 * its reply never arrives).
 */
export class TcpProxy {
  /** While true, bytes from the upstream to the client are discarded. */
  dropReplies = false;
  private server: TCPSocketListener<unknown> | undefined;
  private readonly sockets = new Set<Socket<unknown>>();

  constructor(private readonly upstreamPort: number) {}

  /** The proxy's port (after {@link start}). */
  get port(): number {
    return this.server?.port ?? 0;
  }

  /** Starts listening on a free port. */
  start(): this {
    const proxy = this;
    this.server = Bun.listen<{ up?: Socket<unknown>; queue: Uint8Array[] }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(client) {
          client.data = { queue: [] };
          proxy.sockets.add(client as Socket<unknown>);
          void Bun.connect({
            hostname: "127.0.0.1",
            port: proxy.upstreamPort,
            socket: {
              data(_up, chunk) {
                if (!proxy.dropReplies) client.write(chunk);
              },
              close() {
                client.end();
              },
              error() {
                client.end();
              },
            },
          }).then(
            (up) => {
              proxy.sockets.add(up as Socket<unknown>);
              client.data.up = up as Socket<unknown>;
              for (const c of client.data.queue) up.write(c);
              client.data.queue = [];
            },
            () => client.end(),
          );
        },
        data(client, chunk) {
          if (client.data.up) client.data.up.write(chunk);
          else client.data.queue.push(new Uint8Array(chunk));
        },
        close(client) {
          client.data.up?.end();
        },
        error(client) {
          client.data.up?.end();
        },
      },
    });
    return this;
  }

  /** Stops listening and closes every connection. */
  stop(): void {
    this.server?.stop(true);
    for (const s of this.sockets) s.end();
    this.sockets.clear();
  }
}
