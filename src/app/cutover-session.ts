/**
 * A way into /cutover for a browser when ADMIN_TOKEN is set: a login form that exchanges the token for an
 * HttpOnly, SameSite=Strict cookie scoped to /cutover. The cookie opens the read-only page and nothing else (the
 * /admin endpoints still want the bearer token), and the token is never written into a page or a URL.
 */
import { pageSecurityPolicy } from '../readiness/page-styles.js';
import { createHmac } from 'node:crypto';
import express, { type Request, type RequestHandler, type Router } from 'express';
import { safeEqual } from '../webhooks/webhook-authenticator.js';
import { renderLoginPage } from '../readiness/login-page.js';
import { HttpError } from '../http/http-error.js';

export const SESSION_COOKIE = 'cutover_session';
const SESSION_SECONDS = 12 * 3600;

/**
 * Derived from the token, so that rotating ADMIN_TOKEN ends every session and the cookie never holds the token
 * itself. Stateless: every replica accepts it.
 */
const sessionValue = (adminToken: string) => createHmac('sha256', adminToken).update('codat-cutover /cutover session v1').digest('base64url');

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

const wantsPage = (req: Request) => req.accepts(['application/json', 'text/html']) === 'text/html';

/** Bearer token or session cookie; a browser without either gets the login form (401), a script the JSON error. */
export function requireCutoverReader(adminToken: string): RequestHandler {
  return (req, res, next) => {
    if (safeEqual(req.headers.authorization ?? '', `Bearer ${adminToken}`)) return next();
    const cookie = cookieOf(req, SESSION_COOKIE);
    if (cookie !== undefined && safeEqual(cookie, sessionValue(adminToken))) return next();
    if (wantsPage(req)) {
      res.status(401).type('html').set('content-security-policy', pageSecurityPolicy()).send(renderLoginPage({ failed: false }));
      return;
    }
    next(new HttpError(401, 'invalid_admin_token', 'A valid operator token is required (Authorization: Bearer, or log in at /cutover in a browser).'));
  };
}

export function createCutoverLoginRoutes(adminToken: string | undefined): Router {
  const router = express.Router();
  const form = express.raw({ type: () => true, limit: 8 * 1024 });
  router.post('/cutover/login', form, (req, res) => {
    if (adminToken === undefined) throw new HttpError(404, 'not_found', 'No login is needed: ADMIN_TOKEN is not set.');
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const token = new URLSearchParams(body).get('token') ?? '';
    if (!safeEqual(token, adminToken)) {
      res.status(401).type('html').set('content-security-policy', pageSecurityPolicy()).send(renderLoginPage({ failed: true }));
      return;
    }
    const secure = req.secure ? '; Secure' : '';
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${sessionValue(adminToken)}; HttpOnly; SameSite=Strict; Path=/cutover; Max-Age=${SESSION_SECONDS}${secure}`);
    res.redirect(303, '/cutover');
  });
  router.post('/cutover/logout', (_req, res) => {
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/cutover; Max-Age=0`);
    res.redirect(303, '/cutover');
  });
  return router;
}
