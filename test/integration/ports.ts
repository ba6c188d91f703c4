import net from 'node:net';

/**
 * A port on 127.0.0.1 that nothing listens on just now (the one the OS picked for a moment): free
 * for a worker to listen on, or refused for a client that a test wants to find its peer down.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
