/**
 * The pieces every operation of /openapi.json is built from: JSON Schema out of zod, references to the
 * components, the error answers and the texts several endpoints share.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;
export type Operation = Record<string, unknown> & { responses: Record<string, unknown> };
export type Paths = Record<string, Record<string, Operation>>;

const LENIENT_NOTE = 'Read leniently: a value of another type is read as absent, not refused.';

/** JSON Schema of what a zod schema accepts, without `$schema` (the document says 3.1, i.e. draft 2020-12). */
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    // `.catch()` fields accept anything; the type shown is the one that is used, so say what happens to others.
    override: (ctx) => {
      if (ctx.zodSchema._zod.def.type === 'catch' && ctx.jsonSchema.description === undefined) ctx.jsonSchema.description = LENIENT_NOTE;
    },
  });
  return rest;
}

/** A list of error codes with their meaning, for a response's description. */
export const codeList = (codes: Readonly<Record<string, string>>) =>
  Object.entries(codes).map(([code, meaning]) => `- \`${code}\`: ${meaning}`).join('\n');

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (name: string, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });
export const error = (description: string) => json('Error', description);
export const INTERNAL = error('`internal_error`: an unexpected failure (logged); the body never holds a stack trace.');

export const STORE_UNAVAILABLE = '`store_unavailable`: the store cannot take work now (connection lost, database down or frozen); nothing was changed.';
export const DEADLINE_EXCEEDED = '`deadline_exceeded`: not answered within `REQUEST_DEADLINE_MS` (default 10 s)';
export const BODY_UNREAD = 'Refused before it was read: `request_aborted`, `invalid_content_length`, `bad_request`.';

/** A 503 the client should retry, after `Retry-After` seconds. */
export function retryLater(description: string) {
  return { ...error(description), headers: { 'Retry-After': { description: 'Seconds (5).', schema: { type: 'integer' } } } };
}
