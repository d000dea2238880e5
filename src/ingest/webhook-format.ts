import type { ZodType } from 'zod';
import type { Channel, Conversion } from '../domain/domain-event.js';

/**
 * One inbound wire format: its URL, how to recognise its bodies and how to convert them.
 * Each format lives in its own folder (src/legacy, src/events); at the contract phase the
 * legacy one is removed by deleting its folder and its line in the composition root.
 */
export interface WebhookFormat {
  readonly channel: Channel;
  readonly path: string;
  /** The lenient schema the body is read with: what the endpoint's request body is documented as (src/http/openapi.ts). */
  readonly wireSchema: ZodType;
  looksLike(body: unknown): boolean;
  convert(body: unknown): Conversion;
}

/** The format a body is in, whatever URL it reached: shape first, the URL as the tie-breaker. */
export function channelDetector(formats: readonly WebhookFormat[]) {
  return (body: unknown, endpoint: Channel): Channel => {
    const own = formats.find((f) => f.channel === endpoint);
    if (own?.looksLike(body)) return endpoint;
    return formats.find((f) => f.channel !== endpoint && f.looksLike(body))?.channel ?? endpoint;
  };
}
