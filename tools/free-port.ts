import { connect, createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Does a connection to 127.0.0.1:`port` get refused now? */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/**
 * Privileged ports that no service of these machines uses; the first of them that refuses is handed out.
 * A port `freePort` gives is back in the pool the OS picks `listen(0)` ports from, so a test that waits on it
 * to stay refused could see another test's server take it. These are never picked that way: only a server
 * that names one (as root) could listen there.
 */
const REFUSING_CANDIDATES = [1, 3, 5, 9, 11, 13, 17, 19];

/** A TCP port on 127.0.0.1 that refuses connections and stays refused while tests run beside each other. */
export async function refusingPort(): Promise<number> {
  for (const port of REFUSING_CANDIDATES) if (await refuses(port)) return port;
  throw new Error(`every candidate port (${REFUSING_CANDIDATES.join(', ')}) accepts connections on 127.0.0.1`);
}
