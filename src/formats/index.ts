/**
 * The inbound wire formats this service reads. At the contract phase the legacy format goes by deleting
 * src/formats/legacy/ and its two lines here; `npm run contract:rehearsal` does exactly that and runs the rest.
 */
import type { Channel } from '../domain/domain-event.js';
import { eventsFormat } from './events/events-format.js';
import { legacyFormat } from './legacy/legacy-format.js';
import type { Converter, WebhookFormat } from './webhook-format.js';

export const FORMATS: readonly WebhookFormat[] = [
  legacyFormat,
  eventsFormat,
];

/** Each format's converter, by the channel it arrives on. A channel with no format left converts nothing. */
export function convertersByChannel(formats: readonly WebhookFormat[] = FORMATS): Partial<Record<Channel, Converter>> {
  return Object.fromEntries(formats.map((format) => [format.channel, format.convert]));
}
