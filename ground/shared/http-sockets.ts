import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Listening, URL building and hard shutdown for the ground's small HTTP servers.
 * Emulators deliberately hold requests open (black-hole, hang), so a plain
 * `server.close()` would wait forever: every socket is tracked and destroyed.
 */
export interface TrackedServer {
  server: Server;
  /** resolves once the server no longer listens and every socket is gone */
  close(): Promise<void>;
}

export function trackServer(server: Server): TrackedServer {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let closing: Promise<void> | undefined;
  return {
    server,
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (!server.listening) {
          for (const s of sockets) s.destroy();
          resolve();
          return;
        }
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      if (addr === null || typeof addr === 'string') {
        reject(new Error(`unexpected listen address ${String(addr)}`));
        return;
      }
      resolve(addr.port);
    });
  });
}

export function httpUrl(host: string, port: number): string {
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

/** A delay that close() can cancel, so no timer outlives the emulator. */
export class Delays {
  private readonly pending = new Set<() => void>();

  wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = () => {
        clearTimeout(timer);
        this.pending.delete(cancel);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.pending.delete(cancel);
        resolve(true);
      }, ms);
      this.pending.add(cancel);
    });
  }

  cancelAll(): void {
    for (const cancel of [...this.pending]) cancel();
  }
}
