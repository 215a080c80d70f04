import net from 'node:net';

/** A TCP server on loopback that accepts and never answers: a hung S3 or IMDS. */
export async function startBlackhole(): Promise<{
  url: string;
  /** connections open now (the client has not closed them) */
  open: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    // Read and drop what arrives, so a client's FIN is seen (a paused socket never ends).
    s.resume();
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    open: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
