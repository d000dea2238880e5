import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { accessLog } from '../../src/http/access-log.js';
import { createPinoLogger, type LogLevel } from '../../src/observability/json-logger.js';

type Line = Record<string, unknown>;

function appLoggingAt(level: LogLevel) {
  const lines: Line[] = [];
  const logger = createPinoLogger(level, { write: (text: string) => void lines.push(JSON.parse(text) as Line) });
  const app = express();
  app.use(accessLog(logger.pino));
  app.get('/healthz', (_req, res) => void res.status(Number(_req.query.status ?? 200)).end());
  app.post('/webhooks/codat/events', (req, res) => {
    const status = Number(req.query.status ?? 202);
    res.status(status).json({ id: (req as { id?: string }).id });
  });
  const admin = express.Router();
  admin.get('/dead-letters', (_req, res) => void res.json([]));
  app.use('/admin', admin);
  // Whenever the line is written, the request is still there to read.
  const settled = () => new Promise((resolve) => setTimeout(resolve, 20));
  return { app, lines, settled };
}

describe('the access log', () => {
  it('when a webhook is answered, then one info line names the request, its named headers only, the status and the time', async () => {
    const { app, lines, settled } = appLoggingAt('info');
    const response = await request(app)
      .post('/webhooks/codat/events?x=1')
      .set({ 'x-request-id': 'req-1', authorization: 'Bearer secret-token', 'webhook-id': 'msg_1', 'webhook-signature': 'v1,abc' })
      .send({ a: 1 });
    await settled();
    expect(response.headers['x-request-id']).toBe('req-1');
    expect(response.body).toEqual({ id: 'req-1' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      message: 'POST /webhooks/codat/events 202',
      requestId: 'req-1',
      req: { method: 'POST', path: '/webhooks/codat/events', headers: { 'webhook-id': 'msg_1' } },
      res: { statusCode: 202 },
      responseTime: expect.any(Number) as unknown,
    });
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('secret-token');
    expect(text).not.toContain('v1,abc');
  });

  it('when the level is above info, then an answered webhook writes nothing and a 5xx is still an error line', async () => {
    const { app, lines, settled } = appLoggingAt('warn');
    await request(app).post('/webhooks/codat/events').send({});
    await request(app).post('/webhooks/codat/events?status=503').send({});
    await settled();
    expect(lines.map((line) => [line.level, line.message])).toEqual([['error', 'POST /webhooks/codat/events 503']]);
  });

  it('when a probe is polled, then it is a debug line, and a warning when it fails', async () => {
    const { app, lines, settled } = appLoggingAt('debug');
    await request(app).get('/healthz');
    await request(app).get('/healthz?status=503');
    await settled();
    expect(lines.map((line) => [line.level, line.message])).toEqual([['debug', 'GET /healthz 200'], ['warn', 'GET /healthz 503']]);
  });

  it('when a router mounted on a prefix answers, then the line names the whole path', async () => {
    const { app, lines, settled } = appLoggingAt('info');
    await request(app).get('/admin/dead-letters?limit=5');
    await settled();
    expect(lines.map((line) => [line.message, (line.req as { path?: string }).path])).toEqual([['GET /admin/dead-letters 200', '/admin/dead-letters']]);
  });

  it('when the caller sends no usable request id, then one is made and echoed', async () => {
    const { app, lines, settled } = appLoggingAt('info');
    const response = await request(app).post('/webhooks/codat/events').set('x-request-id', 'two words').send({});
    await settled();
    const id = String(response.headers['x-request-id']);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines[0]?.requestId).toBe(id);
  });
});
