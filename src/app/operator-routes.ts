/**
 * The operator's endpoints under /admin (behind the admin token): dead letters and quarantine by page and
 * filter, one entry with its body, and a replay of one, a selection or all. The CLI (src/cli/) is their main
 * client. Lists never carry bodies (docs/security.md): only "show one" does, for the operator who asks by id.
 */
import express, { type Request, type RequestHandler, type Router } from 'express';
import type { Clock } from '../domain/ports.js';
import type { CutoverStore } from '../cutover-store.js';
import { MAX_PAGE } from '../cutover-store.js';
import { HttpError } from '../http/http-error.js';

export interface OperatorRouteDeps {
  readonly store: CutoverStore;
  readonly clock: Clock;
  /** Something was put back in the inbox queue: process soon. */
  readonly onStored: () => void;
}

/** At most this many ids per replay request; the CLI sends larger selections in chunks and shows progress. */
export const MAX_REPLAY_IDS = 1000;
/** A page's size when the query does not say. */
export const DEFAULT_PAGE = 50;
export const QUARANTINE_STATES = ['quarantined', 'unrecognised'] as const;

/** The query string, read here because the app turns Express' parser off (one value per name, the last wins). */
function queryOf(req: Request): URLSearchParams {
  return new URL(req.originalUrl, 'http://localhost').searchParams;
}

function limitOf(query: URLSearchParams): number {
  const text = query.get('limit');
  if (text === null) return DEFAULT_PAGE;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new HttpError(400, 'invalid_query', `limit must be a whole number from 1 to ${MAX_PAGE}.`);
  }
  return limit;
}

function oneOf<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new HttpError(400, 'invalid_query', `${name} must be one of ${allowed.join(', ')}.`);
  return value as T;
}

const optional = (query: URLSearchParams, name: string) => {
  const value = query.get(name);
  return value === null || value === '' ? undefined : value;
};

/** `{}` or no body: everything. `{"ids": [...]}`: those. */
function idsOf(body: unknown): readonly unknown[] | 'all' {
  if (!Buffer.isBuffer(body) || body.length === 0) return 'all';
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'malformed_json', 'The body is not JSON: send {"ids": [...]} or nothing (everything).');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'invalid_body', 'Send {"ids": [...]} or nothing.');
  const { ids } = parsed as { ids?: unknown };
  if (ids === undefined) return 'all';
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_REPLAY_IDS) {
    throw new HttpError(400, 'invalid_body', `ids must be a list of 1 to ${MAX_REPLAY_IDS} ids.`);
  }
  return ids as unknown[];
}

const inboxIdOf = (value: unknown): number => {
  const id = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new HttpError(400, 'invalid_id', 'A quarantine id is a positive whole number (inboxId).');
  return id;
};

const occurrenceIdOf = (value: unknown): string => {
  if (typeof value !== 'string' || value === '' || value.length > 200) throw new HttpError(400, 'invalid_id', 'A dead letter id is its occurrenceId.');
  return value;
};

/** Turns the store's refusal of a cursor into an answer (it keeps its name across the background thread). */
async function paged<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error && error.name === 'InvalidCursor') throw new HttpError(400, 'invalid_cursor', error.message);
    throw error;
  }
}

export function createOperatorRoutes(deps: OperatorRouteDeps): Router {
  const { store, clock } = deps;
  const router = express.Router();
  const body: RequestHandler = express.raw({ type: () => true, limit: 256 * 1024 });

  router.get('/dead-letters', async (req, res) => {
    const query = queryOf(req);
    const page = await paged(() => store.pageDeadLetters({ limit: limitOf(query), after: optional(query, 'after'), type: optional(query, 'type') }));
    res.json({ deadLetters: page.entries, next: page.next });
  });
  router.post('/dead-letters/replay', body, async (req, res) => {
    const ids = idsOf(req.body);
    const replayed = ids === 'all' ? await store.replayDeadLetters(clock.now()) : await store.replayDeadLettersById(ids.map(occurrenceIdOf), clock.now());
    res.json({ replayed });
  });
  router.get('/dead-letters/:id', async (req, res) => {
    const deadLetter = await store.getDeadLetter(occurrenceIdOf(req.params.id));
    if (!deadLetter) throw new HttpError(404, 'dead_letter_not_found', 'No dead letter has this occurrenceId (it may have been replayed).');
    res.json({ deadLetter });
  });
  router.post('/dead-letters/:id/replay', async (req, res) => {
    const replayed = await store.replayDeadLettersById([occurrenceIdOf(req.params.id)], clock.now());
    if (replayed === 0) throw new HttpError(404, 'dead_letter_not_found', 'No dead letter has this occurrenceId (it may have been replayed).');
    res.json({ replayed });
  });

  router.get('/quarantine', async (req, res) => {
    const query = queryOf(req);
    const page = await paged(() =>
      store.pageQuarantine({
        limit: limitOf(query),
        after: optional(query, 'after'),
        channel: oneOf(query, 'channel', ['legacy', 'events'] as const),
        state: oneOf(query, 'state', QUARANTINE_STATES),
        reason: optional(query, 'reason'),
      }),
    );
    res.json({ webhooks: page.entries, next: page.next });
  });
  router.post('/quarantine/replay', body, async (req, res) => {
    const ids = idsOf(req.body);
    const replayed = ids === 'all' ? await store.replayQuarantine(clock.now()) : await store.replayQuarantineById(ids.map(inboxIdOf), clock.now());
    deps.onStored();
    res.json({ replayed });
  });
  router.get('/quarantine/:id', async (req, res) => {
    const webhook = await store.getQuarantined(inboxIdOf(req.params.id));
    if (!webhook) throw new HttpError(404, 'quarantine_entry_not_found', 'No quarantined webhook has this inboxId (it may have been replayed).');
    res.json({ webhook });
  });
  router.post('/quarantine/:id/replay', async (req, res) => {
    const replayed = await store.replayQuarantineById([inboxIdOf(req.params.id)], clock.now());
    if (replayed === 0) throw new HttpError(404, 'quarantine_entry_not_found', 'No quarantined webhook has this inboxId (it may have been replayed).');
    deps.onStored();
    res.json({ replayed });
  });

  return router;
}
