import net from 'node:net';

/** A port nobody listens on right now (the OS picks it; released before returning). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `count` distinct free ports spaced so that base..base+count are all free (for WORKER_BASE_PORT ranges). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below the kernel's range for outgoing connections (32768+), where any connection could take a port
    // between this check and the bind.
    const base = 20000 + Math.floor(Math.random() * (32000 - count - 20000));
    const servers: net.Server[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const s = net.createServer();
        await new Promise<void>((resolve, reject) => s.listen(base + i, '127.0.0.1', resolve).once('error', reject));
        servers.push(s);
      }
      return base;
    } catch {
      // taken: try another base
    } finally {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    }
  }
  throw new Error('no free port range found');
}
