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

/** A closed port on loopback answers at once; a firewall that drops the attempt would hold it for minutes. */
const REFUSAL_WAIT_MS = 1000;

/** Does a connection to 127.0.0.1:`port` get refused now? */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(REFUSAL_WAIT_MS, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/**
 * Ports far below the range the OS picks `listen(0)` ports from (`ip_local_port_range`, 32768 and up by default
 * on Linux), so no test's server is given one: only a server that names such a port, with the right to bind a
 * privileged one, listens there. None of them is on the Fetch standard's list of ports `fetch` refuses to
 * connect to, so a test of an HTTP client sees the refused connection itself.
 */
const REFUSING_CANDIDATES = [2, 3, 4, 5, 6, 8, 10, 12];

/** A TCP port on 127.0.0.1 that refuses connections and stays refused while tests run beside each other. */
export async function refusingPort(): Promise<number> {
  for (const port of REFUSING_CANDIDATES) if (await refuses(port)) return port;
  throw new Error(`every candidate port (${REFUSING_CANDIDATES.join(', ')}) accepts connections on 127.0.0.1 or does not answer`);
}
