/**
 * The operator endpoints of /openapi.json (`/admin/…`, behind `ADMIN_TOKEN`): the dead letters and the
 * quarantine, each listed a page at a time, shown one by one and replayed.
 */
import { CHANNELS } from '../../domain/domain-event.js';
import { MAX_PAGE } from '../../cutover-store.js';
import { DEFAULT_PAGE, MAX_REPLAY_IDS, QUARANTINE_STATES } from '../operator-routes.js';
import { BODY_UNREAD, DEADLINE_EXCEEDED, INTERNAL, STORE_UNAVAILABLE, codeList, error, json, retryLater, type JsonSchema, type Operation, type Paths } from './openapi-parts.js';

const UNAUTHORIZED_ADMIN = error('`invalid_admin_token`: no or a wrong `Authorization: Bearer <ADMIN_TOKEN>`.');

interface AdminAnswers {
  /** Extra 400 codes, with their meaning, besides a body that could not be read. */
  readonly invalid?: Readonly<Record<string, string>>;
  readonly notFound?: string;
  /** The operation reads a body (a replay selection): it can be too large or in an unknown encoding. */
  readonly readsBody?: boolean;
}

function adminOperation(operationId: string, summary: string, answer: string, description: string, extra: AdminAnswers & { parameters?: unknown[]; requestBody?: unknown } = {}): Operation {
  const { invalid, notFound, readsBody, ...rest } = extra;
  const invalidCodes = invalid === undefined ? '' : codeList(invalid);
  const bad = readsBody === true ? [invalidCodes, BODY_UNREAD].filter((text) => text !== '').join('\n') : invalidCodes;
  return {
    operationId,
    tags: ['operators'],
    summary,
    description,
    security: [{ adminToken: [] }],
    ...rest,
    responses: {
      '200': json(answer, 'Done.'),
      ...(bad === '' ? {} : { '400': error(bad) }),
      '401': UNAUTHORIZED_ADMIN,
      '403': error('`admin_disabled`: `ADMIN_TOKEN` is not set, so the operator endpoints are off.'),
      ...(notFound === undefined ? {} : { '404': error(notFound) }),
      ...(readsBody === true
        ? {
            '413': error('`payload_too_large`: a body larger than 256 KiB; never read.'),
            '415': error('`unsupported_encoding`: an unknown `Content-Encoding` or charset; never read.'),
          }
        : {}),
      '500': INTERNAL,
      '503': retryLater(`${STORE_UNAVAILABLE}\n${DEADLINE_EXCEEDED}`),
    },
  };
}

const queryParameter = (name: string, description: string, schema: JsonSchema) => ({ name, in: 'query', required: false, description, schema });
const idParameter = (description: string, schema: JsonSchema) => ({ name: 'id', in: 'path', required: true, description, schema });

const PAGE_PARAMETERS = [
  queryParameter('limit', `Entries per page (default ${DEFAULT_PAGE}).`, { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE }),
  queryParameter('after', 'The `next` of the previous page; absent for the first.', { type: 'string' }),
];
const PAGE_INVALID = {
  invalid_query: `a parameter out of range (\`limit\` not a whole number from 1 to ${MAX_PAGE}) or not one of its values`,
  invalid_cursor: '`after` is not a cursor this service gave out',
};

const DEAD_LETTER_ID = idParameter('The `occurrenceId`.', { type: 'string', minLength: 1, maxLength: 200 });
const QUARANTINE_ID = idParameter('The `inboxId`.', { type: 'integer', minimum: 1 });
const DEAD_LETTER_GONE = '`dead_letter_not_found`: no dead letter has this `occurrenceId` (it may have been replayed).';
const QUARANTINE_GONE = '`quarantine_entry_not_found`: no quarantined webhook has this `inboxId` (it may have been replayed).';
const INVALID_ID = (what: string) => ({ invalid_id: what });

function replaySelection(idSchema: JsonSchema, what: string): { requestBody: unknown; invalid: Record<string, string> } {
  return {
    requestBody: {
      required: false,
      description: `No body or \`{}\`: every entry. \`{"ids": [...]}\`: those ${what} (1 to ${MAX_REPLAY_IDS}); ids that are not (or no longer) there are skipped, and \`replayed\` says how many were.`,
      content: {
        'application/json': {
          schema: { type: 'object', properties: { ids: { type: 'array', items: idSchema, minItems: 1, maxItems: MAX_REPLAY_IDS } } },
        },
      },
    },
    invalid: {
      malformed_json: 'the body is not JSON',
      invalid_body: `not an object, or \`ids\` not a list of 1 to ${MAX_REPLAY_IDS}`,
      invalid_id: `an id in \`ids\` is not ${what}`,
    },
  };
}

export function operatorPaths(): Paths {
  const paths: Paths = {};
  const deadLetterReplay = replaySelection({ type: 'string', minLength: 1, maxLength: 200 }, 'occurrenceIds');
  const quarantineReplay = replaySelection({ type: 'integer', minimum: 1 }, 'inboxIds');
  paths['/admin/dead-letters'] = {
    get: adminOperation('listDeadLetters', 'Deliveries that gave up', 'DeadLetters', 'Occurrences whose delivery failed `DELIVERY_MAX_ATTEMPTS` times, a page at a time.', {
      parameters: [...PAGE_PARAMETERS, queryParameter('type', 'Only this domain event type.', { type: 'string' })],
      invalid: PAGE_INVALID,
    }),
  };
  paths['/admin/dead-letters/replay'] = {
    post: adminOperation('replayDeadLetters', 'Deliver dead letters again', 'Replayed', 'Puts every dead letter, or the selected ones, back in the delivery queue.', {
      requestBody: deadLetterReplay.requestBody,
      invalid: deadLetterReplay.invalid,
      readsBody: true,
    }),
  };
  paths['/admin/dead-letters/{id}'] = {
    get: adminOperation('getDeadLetter', 'One dead letter, with its payload', 'DeadLetter', 'For the operator who asks by id: the only answer that carries the payload.', {
      parameters: [DEAD_LETTER_ID],
      invalid: INVALID_ID('the id is longer than 200 characters'),
      notFound: DEAD_LETTER_GONE,
    }),
  };
  paths['/admin/dead-letters/{id}/replay'] = {
    post: adminOperation('replayDeadLetter', 'Deliver one dead letter again', 'Replayed', 'Puts this dead letter back in the delivery queue: `{"replayed": 1}`.', {
      parameters: [DEAD_LETTER_ID],
      invalid: INVALID_ID('the id is longer than 200 characters'),
      notFound: DEAD_LETTER_GONE,
    }),
  };
  paths['/admin/quarantine'] = {
    get: adminOperation('listQuarantine', 'Webhooks kept aside', 'Quarantine', 'Authentic webhooks that could not be read or converted, and unrecognised types, a page at a time.', {
      parameters: [
        ...PAGE_PARAMETERS,
        queryParameter('channel', 'Only webhooks received on this channel.', { type: 'string', enum: [...CHANNELS] }),
        queryParameter('state', 'Only webhooks in this state.', { type: 'string', enum: [...QUARANTINE_STATES] }),
        queryParameter('reason', 'Only webhooks whose reason (`detail`) starts with this text, taken literally.', { type: 'string' }),
      ],
      invalid: PAGE_INVALID,
    }),
  };
  paths['/admin/quarantine/replay'] = {
    post: adminOperation('replayQuarantine', 'Process quarantined webhooks again', 'Replayed', 'E.g. after the mapping was fixed: every quarantined and unrecognised webhook, or the selected ones, goes back in the queue.', {
      requestBody: quarantineReplay.requestBody,
      invalid: quarantineReplay.invalid,
      readsBody: true,
    }),
  };
  paths['/admin/quarantine/{id}'] = {
    get: adminOperation('getQuarantined', 'One quarantined webhook, with its body', 'QuarantineEntry', 'For the operator who asks by id: the only answer that carries the body.', {
      parameters: [QUARANTINE_ID],
      invalid: INVALID_ID('the id is not a positive whole number'),
      notFound: QUARANTINE_GONE,
    }),
  };
  paths['/admin/quarantine/{id}/replay'] = {
    post: adminOperation('replayQuarantined', 'Process one quarantined webhook again', 'Replayed', 'Puts this webhook back in the inbox queue: `{"replayed": 1}`.', {
      parameters: [QUARANTINE_ID],
      invalid: INVALID_ID('the id is not a positive whole number'),
      notFound: QUARANTINE_GONE,
    }),
  };
  return paths;
}
