/**
 * What the Unleash SDK's events say about where the flags come from, for `ToggleReader.status()`, and the one
 * poll that may be under way, which closing must wait for.
 *
 * `'synchronized'`/`'changed'` also fire for bootstrap data, so they do not prove the server was reached; the
 * honest signals used are a `'changed'` while the SDK's repository says its data came from the API, and
 * `'unchanged'` (a 304 from the server, which needs an ETag that only a server answer gives). A poll starts
 * when the SDK asks for its request headers and is settled by its outcome event.
 */
import type { Unleash } from 'unleash-client';
import type { Logger, ToggleSourceStatus } from '../domain/ports.js';

/**
 * The SDK keeps two things it does not expose that this reader needs; both are read defensively.
 * `connected`: true once the repository has stored data from the API (not bootstrap/backup).
 * `on`: `Repository.stop()` (called by `destroy()`) removes the repository's listeners while a poll
 * that is still retrying keeps forwarding its failure to it — an `'error'` with no listener, which
 * crashes the process. A no-op listener attached after `destroy()` absorbs it.
 */
interface RepositoryInternals {
  readonly connected?: unknown;
  on?: (event: string, listener: (...args: unknown[]) => void) => unknown;
}

export function repositoryOf(unleash: Unleash): RepositoryInternals | undefined {
  const repository: unknown = Reflect.get(unleash, 'repository');
  return typeof repository === 'object' && repository !== null ? repository : undefined;
}

export function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Is this SDK warning about fetching the flags (as opposed to e.g. the bootstrap)? */
function isFetchWarning(message: string): boolean {
  return message.includes('/client/features') || message.includes('keep alive');
}

export interface UnleashSdkWatch {
  /** The SDK holds flags (the bootstrap's, or the server's). */
  readonly ready: boolean;
  /** Resolves once `ready`. */
  readonly whenReady: Promise<void>;
  /** Resolves at the server's first answer, refusal or failure. */
  readonly firstOutcome: Promise<void>;
  /** The server has answered, refused or failed at least once (or was declared unreachable). */
  readonly heardFromServer: boolean;
  /** After a 401/403 the SDK stops polling for good: no poll will settle. */
  readonly tokenRejected: boolean;
  readonly pollInFlight: boolean;
  /** `stop()` was called: later SDK events are not logged. */
  readonly stopped: boolean;
  /** Registers the listeners; the SDK's 'error' event must always have one, or it would crash the process. */
  attach(unleash: Unleash): void;
  /** The SDK asks for its request headers: a poll is starting. */
  pollStarted(): void;
  /** Resolves when the poll under way settles. */
  nextSettle(): Promise<void>;
  markUnreachable(message: string): void;
  stop(): void;
  status(): ToggleSourceStatus;
}

export function createUnleashSdkWatch(options: { url: string | undefined; online: boolean; bootstrapFile: string; logger: Logger }): UnleashSdkWatch {
  const { url, online, bootstrapFile, logger } = options;
  let ready = false;
  let closed = false;
  let source: ToggleSourceStatus['source'] = 'bootstrap';
  let serverReachable: boolean | null = null;
  let lastError: string | null = null;
  let tokenRejected = false;

  // One poll at a time: started when the SDK asks for its request headers, settled by its outcome event.
  let inFlight = false;
  let settleWaiters: Array<() => void> = [];
  const settle = (): void => {
    inFlight = false;
    const waiters = settleWaiters;
    settleWaiters = [];
    for (const w of waiters) w();
  };

  // Start-up outcome: the server answered, or refused, or failed once.
  let firstOutcome: (() => void) | undefined;
  const firstOutcomePromise = new Promise<void>((resolve) => {
    firstOutcome = resolve;
  });
  let readyResolve: (() => void) | undefined;
  const readyPromise = new Promise<void>((resolve) => {
    readyResolve = resolve;
  });

  const markReachable = (): void => {
    if (serverReachable === false) {
      // Said as loudly as the outage was, so that an operator watching warnings sees the recovery.
      logger.warn('Unleash server reachable again: flags come from the server', { url });
    } else if (serverReachable === null) {
      logger.info('Unleash server reached: flags now come from the server', { url });
    }
    source = 'unleash';
    serverReachable = true;
    lastError = null;
    firstOutcome?.();
  };

  const markUnreachable = (message: string): void => {
    const wasUsable = serverReachable !== false;
    serverReachable = false;
    lastError = message;
    if (wasUsable) {
      logger.warn(
        source === 'unleash'
          ? 'Unleash server not usable: keeping the last flags it sent'
          : `Unleash server not usable: serving the flags of ${bootstrapFile}`,
        { url, error: message },
      );
    }
    firstOutcome?.();
  };

  function attach(unleash: Unleash): void {
    unleash.on('ready', () => {
      ready = true;
      readyResolve?.();
    });

    unleash.on('changed', () => {
      const connected = repositoryOf(unleash)?.connected;
      if (connected === true) {
        // Stored from an API answer (bootstrap data after that is ignored by the SDK).
        markReachable();
        if (inFlight) settle();
      }
    });

    unleash.on('unchanged', () => {
      // A 304 from the server: it confirmed the ETag of data it sent earlier.
      markReachable();
      settle();
    });

    // Always listen: an 'error' event without a listener would crash the process.
    unleash.on('error', (err: unknown) => {
      const message = messageOf(err);
      const pollFailed = inFlight && message.startsWith('Unleash Repository error');
      if (pollFailed) settle(); // also after close(): it is waiting for this poll
      if (closed) return;
      if (!pollFailed) {
        logger.error('Unleash SDK error', { error: message });
        return;
      }
      if (/responded (401|403)\b/.test(message)) {
        tokenRejected = true;
        logger.error(
          'Unleash refused the API token: the SDK stops polling for good; serving the last known flags until restart',
          { url, error: message },
        );
        serverReachable = false;
        lastError = message;
        firstOutcome?.();
        return;
      }
      markUnreachable(message);
    });

    unleash.on('warn', (msg: unknown) => {
      const message = messageOf(msg);
      const pollFailed = inFlight && isFetchWarning(message);
      if (pollFailed) settle();
      if (closed) return;
      if (pollFailed) markUnreachable(message);
      else logger.warn('Unleash SDK warning', { warning: message });
    });
  }

  return {
    get ready() {
      return ready;
    },
    whenReady: readyPromise,
    firstOutcome: firstOutcomePromise,
    get heardFromServer() {
      return serverReachable !== null;
    },
    get tokenRejected() {
      return tokenRejected;
    },
    get pollInFlight() {
      return inFlight;
    },
    get stopped() {
      return closed;
    },
    attach,
    pollStarted: () => {
      inFlight = true;
    },
    nextSettle: () => new Promise<void>((resolve) => settleWaiters.push(resolve)),
    markUnreachable,
    stop: () => {
      closed = true;
    },
    status: () => ({ source, serverReachable: online ? serverReachable : null, lastError }),
  };
}
