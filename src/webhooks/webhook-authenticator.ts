/**
 * Who may post a webhook. Codat's new service signs every message (Standard Webhooks / Svix);
 * the legacy rules service sends a static `Authorization` header. Verification runs on the raw
 * bytes, before anything is parsed. docs/security.md is the threat model.
 *
 * The signature is the Standard Webhooks scheme (`v1,` base64 HMAC-SHA256 of
 * `<id>.<timestamp>.<body>` with the base64-decoded `whsec_` secret), computed by the
 * `standardwebhooks` library; this module chooses the clock, the tolerance (both directions) and
 * which header set to read, and compares in constant time. The library decodes a Buffer body as
 * UTF-8 before signing, so two bodies that differ only in invalid UTF-8 bytes share a signature:
 * harmless here, because Codat signs JSON text, and a body that is not valid UTF-8 is refused
 * (400 `invalid_utf8`) right after authentication whatever its signature.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { Clock } from '../domain/ports.js';

/** Stable machine-readable reasons: the `error.code` of the 401 and the `reason` label of the metric. */
export type AuthFailureReason =
  | 'endpoint_not_configured'
  | 'missing_credentials'
  | 'invalid_authorization'
  | 'invalid_timestamp'
  | 'stale_timestamp'
  | 'invalid_signature';

export type AuthResult =
  | { readonly ok: true; readonly method: 'signature' | 'authorization' | 'unsigned'; readonly webhookId: string | null }
  | { readonly ok: false; readonly reason: AuthFailureReason };

export interface EndpointCredentials {
  /** `whsec_` secrets; several during a rotation. */
  readonly secrets: readonly string[];
  /** The exact `Authorization` value the legacy rules service sends (legacy endpoint only). */
  readonly authorization?: string | undefined;
  /** Explicit operator opt-in for local use: accept requests with no credentials at all. */
  readonly allowUnsigned: boolean;
}

export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

export type WebhookAuthenticator = (headers: RequestHeaders, rawBody: Buffer) => AuthResult;

/**
 * The two header sets a Standard Webhooks sender may use: Codat sends `webhook-*`; Svix's
 * non-white-labelled headers are `svix-*`. A set is used only when complete (no mixing).
 */
export const SIGNATURE_HEADER_SETS = [
  { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' },
  { id: 'svix-id', timestamp: 'svix-timestamp', signature: 'svix-signature' },
] as const;

const SECRET_PREFIX = 'whsec_';

const header = (headers: RequestHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Constant-time equality of two strings of any length (digests first, so lengths do not leak). */
export function safeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** The HMAC key of a `whsec_<base64>` secret (the prefix is optional, as in the Standard Webhooks libraries). */
export function signingKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error('a webhook secret must be whsec_<base64>');
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('a webhook secret must not be empty');
  return key;
}

/** `v1,<base64>`: the Standard Webhooks signature of a body, computed by the `standardwebhooks` library. */
export function signPayload(secret: string | Webhook, id: string, timestamp: string, rawBody: Buffer): string {
  const signer = typeof secret === 'string' ? new Webhook(signingKey(secret), { format: 'raw' }) : secret;
  return signer.sign(id, new Date(Number(timestamp) * 1000), rawBody);
}

export function createWebhookAuthenticator(options: {
  readonly credentials: EndpointCredentials;
  readonly toleranceSeconds: number;
  readonly clock: Clock;
}): WebhookAuthenticator {
  const { credentials, toleranceSeconds, clock } = options;
  // Decoded once, at start-up: a bad secret fails there, not on the first request.
  const keys = credentials.secrets.map((secret) => new Webhook(signingKey(secret), { format: 'raw' }));
  const configured = keys.length > 0 || credentials.authorization !== undefined;

  function verifySignature(id: string, timestamp: string, signatures: string, rawBody: Buffer): AuthResult {
    if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'invalid_timestamp' };
    // Both directions, in whole seconds like the Standard Webhooks libraries: too old is a
    // replay, too new is a clock problem or a pre-signed message.
    const now = Math.floor(clock.now() / 1000);
    const sent = Number(timestamp);
    if (now - sent > toleranceSeconds || sent - now > toleranceSeconds) return { ok: false, reason: 'stale_timestamp' };
    // Space-separated `v1,<sig>` entries: several during a secret rotation, other versions ignored.
    const offered = signatures
      .split(' ')
      .filter((entry) => entry.startsWith('v1,'))
      .map((entry) => Buffer.from(entry.slice('v1,'.length), 'utf8'));
    for (const key of keys) {
      const expected = Buffer.from(signPayload(key, id, timestamp, rawBody).slice('v1,'.length), 'utf8');
      // Every entry is compared (no early exit on the first mismatch); lengths are public.
      let match = false;
      for (const candidate of offered) {
        if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) match = true;
      }
      if (match) return { ok: true, method: 'signature', webhookId: id };
    }
    return { ok: false, reason: 'invalid_signature' };
  }

  function authenticate(headers: RequestHeaders, rawBody: Buffer): AuthResult {
    const unverifiedId = () => header(headers, 'webhook-id') ?? header(headers, 'svix-id') ?? null;
    if (!configured) {
      return credentials.allowUnsigned ? { ok: true, method: 'unsigned', webhookId: unverifiedId() } : { ok: false, reason: 'endpoint_not_configured' };
    }
    // A signature first: each complete header set in turn (`webhook-*`, then `svix-*`). It is the
    // stronger credential and admits either format, so Codat's new service, which sends the static
    // header as well, is recognised by its signature.
    let failure: AuthResult | null = null;
    if (keys.length > 0) {
      for (const names of SIGNATURE_HEADER_SETS) {
        const id = header(headers, names.id);
        const timestamp = header(headers, names.timestamp);
        const signature = header(headers, names.signature);
        if (!id || !timestamp || !signature) continue;
        const result = verifySignature(id, timestamp, signature, rawBody);
        if (result.ok) return result;
        failure ??= result;
      }
    }
    // Otherwise the static header of the legacy rules service (legacy endpoint), compared in
    // constant time. It admits legacy-format bodies only (the receiver refuses any other).
    const authorization = header(headers, 'authorization');
    if (credentials.authorization !== undefined && authorization !== undefined && safeEqual(authorization, credentials.authorization)) {
      return { ok: true, method: 'authorization', webhookId: unverifiedId() };
    }
    if (failure) return failure;
    if (authorization !== undefined && credentials.authorization !== undefined) return { ok: false, reason: 'invalid_authorization' };
    return { ok: false, reason: 'missing_credentials' };
  }

  return (headers, rawBody) => {
    try {
      return authenticate(headers, rawBody);
    } catch {
      // Nothing above should throw; if it ever does, the request is refused, never answered 500.
      return { ok: false, reason: 'invalid_signature' };
    }
  };
}
