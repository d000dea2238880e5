import type { ZodType } from 'zod';
import type { Channel, Conversion } from '../domain/domain-event.js';

/** A wire format's conversion of one parsed body into domain events (pure). */
export type Converter = (body: unknown) => Conversion;

/**
 * One inbound wire format: its URL, how to recognise its bodies and how to convert them.
 * Each format lives in its own folder (src/formats/legacy, src/formats/events); at the contract phase the
 * legacy one is removed by deleting its folder and its lines in src/formats/index.ts (`npm run contract:rehearsal`).
 */
export interface WebhookFormat {
  readonly channel: Channel;
  readonly path: string;
  /** The lenient schema the body is read with: what the endpoint's request body is documented as (src/app/openapi.ts). */
  readonly wireSchema: ZodType;
  looksLike(body: unknown): boolean;
  readonly convert: Converter;
  /** Schemas of parts of the body worth their own entry in the OpenAPI document (e.g. each event type's payload). */
  readonly documentedPayloads?: readonly DocumentedPayload[];
}

export interface DocumentedPayload {
  readonly name: string;
  /** Which of the format's types carry it, as a pattern a reader understands. */
  readonly eventTypes: string;
  readonly schema: ZodType;
}

/** The format a body is in, whatever URL it reached: shape first, the URL as the tie-breaker. */
export function channelDetector(formats: readonly WebhookFormat[]) {
  return (body: unknown, endpoint: Channel): Channel => {
    const own = formats.find((f) => f.channel === endpoint);
    if (own?.looksLike(body)) return endpoint;
    return formats.find((f) => f.channel !== endpoint && f.looksLike(body))?.channel ?? endpoint;
  };
}
