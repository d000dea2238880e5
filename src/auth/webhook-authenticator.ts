/**
 * Who may post a webhook. Codat's new service signs every message (Standard Webhooks / Svix);
 * the legacy rules service sends a static `Authorization` header. Verification runs on the raw
 * bytes, before anything is parsed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { Clock } from '../domain/ports.js';

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

export type WebhookAuthenticator = (headers: Readonly<Record<string, string | string[] | undefined>>, rawBody: Buffer) => AuthResult;

const header = (headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Constant-time equality of two strings of any length (digests first, so lengths do not leak). */
export function safeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function createWebhookAuthenticator(options: {
  readonly credentials: EndpointCredentials;
  readonly toleranceSeconds: number;
  readonly clock: Clock;
}): WebhookAuthenticator {
  const { credentials, toleranceSeconds, clock } = options;
  const signers = credentials.secrets.map((secret) => new Webhook(secret));
  const configured = signers.length > 0 || credentials.authorization !== undefined;

  function verifySignature(id: string, timestamp: string, signatures: string, rawBody: Buffer): AuthResult {
    if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'invalid_timestamp' };
    const seconds = Number(timestamp);
    if (Math.abs(clock.now() / 1000 - seconds) > toleranceSeconds) return { ok: false, reason: 'stale_timestamp' };
    const offered = signatures
      .split(' ')
      .map((entry) => entry.split(','))
      .filter((parts): parts is [string, string] => parts.length === 2 && parts[0] === 'v1')
      .map(([, signature]) => Buffer.from(signature));
    for (const signer of signers) {
      // The library computes the HMAC; we only choose the clock and the tolerance.
      const expected = Buffer.from(signer.sign(id, new Date(seconds * 1000), rawBody).slice('v1,'.length));
      if (offered.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected))) {
        return { ok: true, method: 'signature', webhookId: id };
      }
    }
    return { ok: false, reason: 'invalid_signature' };
  }

  return (headers, rawBody) => {
    if (!configured) {
      return credentials.allowUnsigned
        ? { ok: true, method: 'unsigned', webhookId: header(headers, 'webhook-id') ?? header(headers, 'svix-id') ?? null }
        : { ok: false, reason: 'endpoint_not_configured' };
    }
    const authorization = header(headers, 'authorization');
    if (credentials.authorization !== undefined && authorization !== undefined && safeEqual(authorization, credentials.authorization)) {
      return { ok: true, method: 'authorization', webhookId: header(headers, 'webhook-id') ?? header(headers, 'svix-id') ?? null };
    }
    // Codat sends `webhook-*`; Svix's own libraries also accept the `svix-*` set.
    const id = header(headers, 'webhook-id') ?? header(headers, 'svix-id');
    const timestamp = header(headers, 'webhook-timestamp') ?? header(headers, 'svix-timestamp');
    const signature = header(headers, 'webhook-signature') ?? header(headers, 'svix-signature');
    if (signers.length > 0 && id && timestamp && signature) return verifySignature(id, timestamp, signature, rawBody);
    if (authorization !== undefined && credentials.authorization !== undefined) return { ok: false, reason: 'invalid_authorization' };
    return { ok: false, reason: 'missing_credentials' };
  };
}
