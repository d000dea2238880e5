/**
 * The CLI's view of a running service: JSON over HTTP with the operator token, and errors the operator can act on.
 */

/** Exit codes: 0 done (or safe), 1 not safe / nothing matched, 2 bad usage, 3 the service did not answer as expected. */
export const EXIT = { ok: 0, unsafe: 1, usage: 2, service: 3 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface Client {
  readonly url: string;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
}

interface ErrorAnswer {
  readonly error?: { readonly code?: string; readonly message?: string };
}

export function createClient(url: string, token: string | undefined): Client {
  const base = url.replace(/\/+$/, '');
  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new CliError(`cannot reach ${base}${cause} (is the service running? --url or CODAT_CUTOVER_URL says where)`, EXIT.service);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError(`${method} ${path}: HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`, EXIT.service);
    }
    if (!response.ok) {
      const { code = 'unknown', message = '' } = (parsed as ErrorAnswer).error ?? {};
      const hint =
        code === 'admin_disabled' ? ' Start the service with ADMIN_TOKEN set.'
        : code === 'invalid_admin_token' ? ' Pass --token or set ADMIN_TOKEN to the service\'s operator token.'
        : '';
      throw new CliError(`${method} ${path}: ${response.status} ${code}: ${message}${hint}`, response.status === 404 ? EXIT.unsafe : EXIT.service);
    }
    return parsed as T;
  }
  return { url: base, get: (path) => call('GET', path), post: (path, body) => call('POST', path, body) };
}
