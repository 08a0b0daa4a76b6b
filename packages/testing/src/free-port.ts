import { createServer } from 'node:net';

/**
 * A free TCP port on 127.0.0.1, as chosen by the OS (redis-server `--port 0` does not pick one: it refuses to
 * listen). Another process may take it before the caller binds it, so callers retry.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('the OS assigned no free port'))));
    });
  });
}
