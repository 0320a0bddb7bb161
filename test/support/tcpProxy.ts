import { createServer, connect, type Server, type Socket } from 'node:net';

// A TCP hop in front of PostgreSQL that a test can cut and restore: a real outage as the
// service's pool sees it (refused and dropped connections), not a mock. `blackHole` is the other
// kind: a partition or a host gone without a reset, where bytes go out and nothing comes back
// and no socket is closed; `failOver` then forwards new connections again (DNS pointing at a
// new primary) while the black-holed ones stay silent.
export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  blackHole(): void;
  failOver(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  // Pairs whose bytes are swallowed from now on (their sockets stay open).
  const silenced = new Set<Socket>();
  let swallowNew = false;
  let server: Server | undefined;
  let port = 0;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        track(client);
        if (swallowNew) {
          silenced.add(client);
          client.on('data', () => {});
          return;
        }
        const upstream = connect(targetPort, targetHost);
        track(upstream);
        for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
          from.on('data', (chunk: Buffer) => {
            if (!silenced.has(from)) to.write(chunk);
          });
          from.on('end', () => {
            if (!silenced.has(from)) to.end();
          });
        }
      });
      server.listen(port, '127.0.0.1', () => {
        const address = server!.address();
        if (typeof address === 'object' && address) port = address.port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server ? server.close(() => resolve()) : resolve();
    });
  await listen();
  return {
    port,
    cut: stop,
    restore: listen,
    blackHole() {
      for (const s of sockets) silenced.add(s);
      swallowNew = true;
    },
    failOver() {
      swallowNew = false;
    },
    close: stop,
  };
}
