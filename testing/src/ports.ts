import { createServer } from 'node:net';

const canBind = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '0.0.0.0', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });

/**
 * Finds `count` consecutive free host ports, so the stack under test never
 * collides with a lab the user already has running on the default ports.
 */
export async function freePortRange(
  count: number,
  avoid: ReadonlySet<number> = new Set(),
): Promise<number[]> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const first = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if (ports.some((port) => avoid.has(port))) continue;
    const free = await Promise.all(ports.map(canBind));
    if (free.every(Boolean)) return ports;
  }
  throw new Error(`found no ${count} consecutive free ports`);
}
