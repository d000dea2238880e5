import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { fixedJsonAnswer } from '../../src/http/fixed-answer.js';

/** The two ways of answering side by side, in the app's own settings (no ETag). */
function appAnsweringBothWays(status: number, body: unknown) {
  const app = express();
  app.set('etag', false);
  const fixed = fixedJsonAnswer(status, body);
  app.post('/express', (_req, res) => void res.status(status).json(body));
  app.post('/fixed', (_req, res) => fixed(res));
  return app;
}

/** The header names of the answer in the case they were sent, without the ones that differ per answer. */
const rawHeaderNames = (response: request.Response): string[] =>
  ((response as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders)
    .filter((_, i) => i % 2 === 0)
    .filter((name) => !/^(date|connection|keep-alive)$/i.test(name));

const WIRE_HEADERS = ['content-type', 'content-length', 'etag'] as const;

describe('a fixed JSON answer', () => {
  it.each([
    [202, { status: 'accepted' }],
    [200, { status: 'duplicate' }],
    [202, { status: 'quarantined', reason: 'nesting_too_deep', note: 'ünïcödé €' }],
  ])('when %i %j is answered, then status, headers and bytes are those res.json gives', async (status, body) => {
    const app = appAnsweringBothWays(status, body);
    const [viaExpress, viaFixed] = await Promise.all([request(app).post('/express'), request(app).post('/fixed')]);
    expect(viaFixed.status).toBe(viaExpress.status);
    for (const name of WIRE_HEADERS) expect(viaFixed.headers[name], name).toBe(viaExpress.headers[name]);
    // Names as written, not as supertest lowercases them: the same bytes on the wire.
    expect(rawHeaderNames(viaFixed)).toEqual(rawHeaderNames(viaExpress));
    expect(viaFixed.text).toBe(viaExpress.text);
    expect(viaFixed.body).toEqual(body);
  });

  it('when it is answered many times, then every answer carries the whole body (the bytes are not consumed)', async () => {
    const app = appAnsweringBothWays(202, { status: 'accepted' });
    const answers = await Promise.all(Array.from({ length: 5 }, () => request(app).post('/fixed')));
    expect(answers.map((a) => a.text)).toEqual(Array(5).fill('{"status":"accepted"}'));
  });
});
