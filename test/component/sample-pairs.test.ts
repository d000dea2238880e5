/**
 * @needs-legacy-format: sends both channels; goes with the legacy format at the contract (npm run contract:rehearsal).
 * The bundled samples are what a newcomer sends first (README "Try it", `codat-cutover send --all`): in any
 * order, no pair among them may disagree with itself, or the very first verdict shows a mismatch blocker.
 */
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { signedHeaders } from '../../tools/signing.js';
import { allSampleNames, sampleText } from '../support/samples.js';
import { buildTestService, type TestService } from '../support/test-service.js';

describe('the bundled sample webhooks', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
  });

  it.each([
    ['name order', allSampleNames()],
    ['reverse name order (legacy copies first)', allSampleNames().reverse()],
  ])('when all are sent in %s, then no pair disagrees and no legacy copy is left unpaired', async (_order, names) => {
    service = await buildTestService({ minOccurrences: 1 });
    for (const name of names) {
      const body = JSON.stringify(JSON.parse(sampleText(name)));
      const response = await request(service.app)
        .post(`/webhooks/codat/${name.startsWith('legacy-') ? 'legacy' : 'events'}`)
        .set(signedHeaders(body, { timestampMs: service.clock.now() }))
        .send(body);
      expect(response.status).toBe(202);
      await service.settle();
    }
    service.clock.advance(900_001);
    await service.settle();
    const { readiness } = await service.monitor.report();
    expect(readiness.overall.mismatches).toBe(0);
    expect(readiness.overall.legacyOnly).toBe(0);
    expect(readiness.reasons.filter((r) => r.level === 'blocker')).toEqual([]);
  });
});
