import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createWebhookAuthenticator,
  safeEqual,
  signPayload,
  type EndpointCredentials,
} from '../../src/webhooks/webhook-authenticator.js';
import { DEV_SECRET_FILE, resolveWebhookCredentials } from '../../src/webhooks/webhook-credentials.js';
import { loadConfig } from '../../src/config.js';
import { ManualClock } from '../support/fakes.js';
import { SAMPLES_DIR } from '../support/samples.js';

interface Vector {
  readonly secret: string;
  readonly headers: Record<string, string>;
  readonly rawBody: string;
}
const VECTORS = (JSON.parse(readFileSync(join(SAMPLES_DIR, 'signed-delivery-test-vectors.json'), 'utf8')) as { vectors: Vector[] }).vectors;
const [CODAT_VECTOR, ROTATION_VECTOR] = VECTORS as [Vector, Vector];

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OTHER_SECRET = 'whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==';
const THIRD_SECRET = 'whsec_YW5vdGhlciBzZWNyZXQgZm9yIHJvdGF0aW9u';
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

const clockAt = (seconds: number) => new ManualClock(seconds * 1000);

function authenticator(credentials: Partial<EndpointCredentials> = {}, options: { clock?: ManualClock; toleranceSeconds?: number } = {}) {
  return createWebhookAuthenticator({
    credentials: { secrets: [SECRET], allowUnsigned: false, ...credentials },
    toleranceSeconds: options.toleranceSeconds ?? 300,
    clock: options.clock ?? new ManualClock(NOW),
  });
}

/** Headers as Codat's service would send them for `body`, signed at `atMs` with `secret`. */
function signed(body: string | Buffer, options: { secret?: string; id?: string; atMs?: number; prefix?: 'webhook' | 'svix' } = {}) {
  const id = options.id ?? 'msg_2xYmZk8QhJ4n';
  const timestamp = String(Math.floor((options.atMs ?? NOW) / 1000));
  const prefix = options.prefix ?? 'webhook';
  return {
    [`${prefix}-id`]: id,
    [`${prefix}-timestamp`]: timestamp,
    [`${prefix}-signature`]: signPayload(options.secret ?? SECRET, id, timestamp, Buffer.isBuffer(body) ? body : Buffer.from(body)),
  };
}

const BODY = '{"id":"5d0c2b5e-1a7f-4c39-9f0e-000000000001","eventType":"company.created","payload":{}}';

describe('the signing test vectors (REFERENCE §7.1), with a clock at each vector timestamp', () => {
  it.each(VECTORS.map((v, i) => [i + 1, v] as const))('when vector %i is verified at its own timestamp, then it is authentic', (_n, vector) => {
    const verify = authenticator({ secrets: [vector.secret] }, { clock: clockAt(Number(vector.headers['webhook-timestamp'])) });
    expect(verify(vector.headers, Buffer.from(vector.rawBody, 'utf8'))).toEqual({ ok: true, method: 'signature', webhookId: vector.headers['webhook-id'] });
  });

  it('when the documented Codat vector is signed here, then the signature is the published one', () => {
    const { headers, rawBody, secret } = CODAT_VECTOR;
    expect(signPayload(secret, headers['webhook-id']!, headers['webhook-timestamp']!, Buffer.from(rawBody))).toBe(headers['webhook-signature']);
  });

  it('when a vector is verified at the wall clock, then it is refused as stale (the tolerance is really applied)', () => {
    const verify = authenticator({ secrets: [CODAT_VECTOR.secret] });
    expect(verify(CODAT_VECTOR.headers, Buffer.from(CODAT_VECTOR.rawBody))).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('when the rotation vector (a bogus v1 entry before the good one) has its entries reordered or padded, then it is still authentic', () => {
    const { headers, rawBody, secret } = ROTATION_VECTOR;
    const verify = authenticator({ secrets: [secret] }, { clock: clockAt(Number(headers['webhook-timestamp'])) });
    const entries = headers['webhook-signature']!.split(' ');
    for (const signature of [[...entries].reverse().join(' '), `v2,abc ${entries.join(' ')} v1a,xyz`, entries.join('  ')]) {
      expect(verify({ ...headers, 'webhook-signature': signature }, Buffer.from(rawBody)).ok, signature).toBe(true);
    }
    expect(verify({ ...headers, 'webhook-signature': entries.filter((e) => e.startsWith('v1,bm9l')).join(' ') }, Buffer.from(rawBody))).toEqual({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it('when a vector arrives with the svix-* header names instead, then it is authentic', () => {
    const { headers, rawBody, secret } = CODAT_VECTOR;
    const verify = authenticator({ secrets: [secret] }, { clock: clockAt(Number(headers['webhook-timestamp'])) });
    const svix = { 'svix-id': headers['webhook-id'], 'svix-timestamp': headers['webhook-timestamp'], 'svix-signature': headers['webhook-signature'] };
    expect(verify(svix, Buffer.from(rawBody))).toEqual({ ok: true, method: 'signature', webhookId: headers['webhook-id'] });
  });
});

describe('signature verification', () => {
  it('when the body, id or timestamp differ by one byte from what was signed, then invalid_signature', () => {
    const verify = authenticator();
    const headers = signed(BODY);
    expect(verify(headers, Buffer.from(BODY)).ok).toBe(true);
    expect(verify(headers, Buffer.from(`${BODY} `))).toEqual({ ok: false, reason: 'invalid_signature' });
    expect(verify(headers, Buffer.from(BODY.replace('company.created', 'company.createe')))).toEqual({ ok: false, reason: 'invalid_signature' });
    expect(verify({ ...headers, 'webhook-id': 'msg_other' }, Buffer.from(BODY))).toEqual({ ok: false, reason: 'invalid_signature' });
    expect(verify({ ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) }, Buffer.from(BODY))).toEqual({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it('when the signature is made with another secret, then invalid_signature', () => {
    expect(authenticator()(signed(BODY, { secret: OTHER_SECRET }), Buffer.from(BODY))).toEqual({ ok: false, reason: 'invalid_signature' });
  });

  it('when an endpoint has several secrets (rotation), then a signature by any of them is authentic and by no other', () => {
    const verify = authenticator({ secrets: [SECRET, OTHER_SECRET] });
    expect(verify(signed(BODY, { secret: SECRET }), Buffer.from(BODY)).ok).toBe(true);
    expect(verify(signed(BODY, { secret: OTHER_SECRET }), Buffer.from(BODY)).ok).toBe(true);
    expect(verify(signed(BODY, { secret: THIRD_SECRET }), Buffer.from(BODY))).toEqual({ ok: false, reason: 'invalid_signature' });
  });

  it('when Codat signs with the old and the new secret during its rotation, then either one configured here is enough', () => {
    const old = signed(BODY, { secret: OTHER_SECRET });
    const both = { ...old, 'webhook-signature': `${old['webhook-signature']} ${signed(BODY, { secret: SECRET })['webhook-signature']}` };
    expect(authenticator({ secrets: [SECRET] })(both, Buffer.from(BODY)).ok).toBe(true);
    expect(authenticator({ secrets: [OTHER_SECRET] })(both, Buffer.from(BODY)).ok).toBe(true);
  });

  it('when several v1 entries come and none matches, then invalid_signature', () => {
    const wrong = [OTHER_SECRET, THIRD_SECRET].map((secret) => signed(BODY, { secret })['webhook-signature']);
    const headers = { ...signed(BODY), 'webhook-signature': [...wrong, 'v1,', 'v1,AAAA', 'v2,x'].join(' ') };
    expect(authenticator()(headers, Buffer.from(BODY))).toEqual({ ok: false, reason: 'invalid_signature' });
  });

  it('when the header sets are mixed (webhook-id with svix-timestamp and svix-signature), then missing_credentials', () => {
    const svix = signed(BODY, { prefix: 'svix' });
    const mixed = { 'webhook-id': svix['svix-id'], 'svix-timestamp': svix['svix-timestamp'], 'svix-signature': svix['svix-signature'] };
    expect(authenticator()(mixed, Buffer.from(BODY))).toEqual({ ok: false, reason: 'missing_credentials' });
  });

  it('when both header sets come and only the svix-* one is right, then it is authentic with the svix-id', () => {
    const headers = { ...signed(BODY, { secret: OTHER_SECRET, id: 'msg_wrong' }), ...signed(BODY, { prefix: 'svix', id: 'msg_right' }) };
    expect(authenticator()(headers, Buffer.from(BODY))).toEqual({ ok: true, method: 'signature', webhookId: 'msg_right' });
  });

  it.each([
    ['seconds as a decimal', '1768478400.5'],
    ['milliseconds', '1768478400000000'],
    ['a negative number', '-1768478400'],
    ['a date', '2026-01-15T12:00:00Z'],
    ['text', 'now'],
  ])('when the timestamp is %s, then invalid_timestamp', (_what, timestamp) => {
    const headers = { ...signed(BODY), 'webhook-timestamp': timestamp };
    expect(authenticator()(headers, Buffer.from(BODY))).toEqual({ ok: false, reason: 'invalid_timestamp' });
  });

  it.each([
    [300, 300, true],
    [300, 301, false],
    [300, -300, true],
    [300, -301, false],
    [60, 60, true],
    [60, 61, false],
    [60, -61, false],
    [3600, 3000, true],
    [3600, -3601, false],
  ])('when the tolerance is %i s and the signature is %i s old (negative: from the future), then authentic: %s', (tolerance, ageSeconds, authentic) => {
    const verify = authenticator({}, { toleranceSeconds: tolerance });
    const result = verify(signed(BODY, { atMs: NOW - ageSeconds * 1000 }), Buffer.from(BODY));
    expect(result).toEqual(authentic ? expect.objectContaining({ ok: true }) : { ok: false, reason: 'stale_timestamp' });
  });

  it('when the configuration says nothing, then the tolerance is 300 s', () => {
    expect(loadConfig({}).WEBHOOK_TOLERANCE_SECONDS).toBe(300);
    expect(loadConfig({ WEBHOOK_TOLERANCE_SECONDS: '60' }).WEBHOOK_TOLERANCE_SECONDS).toBe(60);
    expect(() => loadConfig({ WEBHOOK_TOLERANCE_SECONDS: '-5' })).toThrow(/WEBHOOK_TOLERANCE_SECONDS/);
  });

  it('when a stale timestamp also has a bad signature, then the answer is stale_timestamp (no HMAC is computed for it)', () => {
    const headers = { ...signed(BODY, { atMs: NOW - 3600_000 }), 'webhook-signature': 'v1,AAAA' };
    expect(authenticator()(headers, Buffer.from(BODY))).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('when the body is not valid UTF-8, then the signature is the library one (decoded as UTF-8): a known limit, harmless because such a body is refused with 400 invalid_utf8 after authentication', () => {
    const signedBytes = Buffer.from([0x7b, 0xff, 0x7d]);
    const otherBytes = Buffer.from([0x7b, 0xfe, 0x7d]);
    const headers = signed(signedBytes);
    expect(authenticator()(headers, signedBytes).ok).toBe(true);
    // The library cannot tell 0xFE from 0xFF once decoded; the receiver's UTF-8 check refuses both bodies.
    expect(authenticator()(headers, otherBytes).ok).toBe(true);
  });

  it('property: for any UTF-8 body, id and time, the signature here is the standardwebhooks library one and verifies', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.stringMatching(/^msg_[A-Za-z0-9]{1,40}$/), fc.integer({ min: 1, max: 4_000_000_000 }), (body, id, seconds) => {
        const ours = signPayload(SECRET, id, String(seconds), Buffer.from(body, 'utf8'));
        expect(ours).toBe(new Webhook(SECRET).sign(id, new Date(seconds * 1000), body));
        const verify = authenticator({}, { clock: clockAt(seconds) });
        expect(verify({ 'webhook-id': id, 'webhook-timestamp': String(seconds), 'webhook-signature': ours }, Buffer.from(body, 'utf8'))).toEqual({
          ok: true,
          method: 'signature',
          webhookId: id,
        });
      }),
      { numRuns: 300 },
    );
  });

  it('property: whatever headers a client invents, the authenticator answers (never throws) and never says ok without the secret', () => {
    const names = fc.constantFrom('webhook-id', 'webhook-timestamp', 'webhook-signature', 'svix-id', 'svix-timestamp', 'svix-signature', 'authorization', 'content-type');
    const value = fc.oneof(
      fc.string(),
      fc.constantFrom('v1,', 'v1', ',', ' ', 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=', String(Math.floor(NOW / 1000)), '0', 'Bearer '),
      fc.array(fc.string(), { maxLength: 3 }),
    );
    const verify = authenticator({ authorization: 'Bearer legacy-secret-0123456789' });
    fc.assert(
      fc.property(fc.dictionary(names, value), fc.uint8Array({ maxLength: 200 }), (headers, body) => {
        const result = verify(headers, Buffer.from(body));
        expect(result.ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the legacy endpoint: the static Authorization header or a signature', () => {
  const AUTH = 'Bearer legacy-secret-0123456789';

  it('when the exact Authorization value comes, then it is authentic (with the webhook-id if one came)', () => {
    const verify = authenticator({ secrets: [], authorization: AUTH });
    expect(verify({ authorization: AUTH }, Buffer.from(BODY))).toEqual({ ok: true, method: 'authorization', webhookId: null });
    expect(verify({ authorization: AUTH, 'webhook-id': 'msg_1' }, Buffer.from(BODY))).toEqual({ ok: true, method: 'authorization', webhookId: 'msg_1' });
  });

  it.each([
    ['another token', 'Bearer legacy-secret-0123456780'],
    ['a prefix of it', 'Bearer legacy-secret'],
    ['it with more after it', `${AUTH}0`],
    ['another case', AUTH.toUpperCase()],
    ['another scheme', 'Basic legacy-secret-0123456789'],
    ['an empty value', ''],
  ])('when the Authorization is %s, then invalid_authorization', (_what, value) => {
    expect(authenticator({ secrets: [], authorization: AUTH })({ authorization: value }, Buffer.from(BODY))).toEqual({ ok: false, reason: 'invalid_authorization' });
  });

  it('when only a signature with CODAT_LEGACY_SECRET comes (Codat new service, legacy bodies), then it is authentic', () => {
    const verify = authenticator({ secrets: [OTHER_SECRET], authorization: AUTH });
    expect(verify(signed(BODY, { secret: OTHER_SECRET }), Buffer.from(BODY))).toEqual({ ok: true, method: 'signature', webhookId: 'msg_2xYmZk8QhJ4n' });
    expect(verify({ ...signed(BODY, { secret: OTHER_SECRET }), authorization: 'Bearer rotated-away-000000' }, Buffer.from(BODY)).ok).toBe(true);
    expect(verify(signed(BODY, { secret: SECRET }), Buffer.from(BODY))).toEqual({ ok: false, reason: 'invalid_signature' });
  });

  it('when a valid signature and the static Authorization come together (Codat new service), then the signature is what authenticates', () => {
    // The method decides what the sender may post: the static header admits legacy-format bodies only.
    const verify = authenticator({ secrets: [OTHER_SECRET], authorization: AUTH });
    expect(verify({ ...signed(BODY, { secret: OTHER_SECRET }), authorization: AUTH }, Buffer.from(BODY))).toEqual({ ok: true, method: 'signature', webhookId: 'msg_2xYmZk8QhJ4n' });
  });

  it('when the static Authorization comes with a signature that does not verify, then it is authentic by the Authorization only', () => {
    const verify = authenticator({ secrets: [OTHER_SECRET], authorization: AUTH });
    expect(verify({ ...signed(BODY, { secret: SECRET }), authorization: AUTH }, Buffer.from(BODY))).toEqual({ ok: true, method: 'authorization', webhookId: 'msg_2xYmZk8QhJ4n' });
  });

  it('when only the Authorization is configured, then a signature is not enough and nothing at all is missing_credentials', () => {
    const verify = authenticator({ secrets: [], authorization: AUTH });
    expect(verify(signed(BODY), Buffer.from(BODY))).toEqual({ ok: false, reason: 'missing_credentials' });
    expect(verify({}, Buffer.from(BODY))).toEqual({ ok: false, reason: 'missing_credentials' });
  });

  it('when the events endpoint (no Authorization configured) gets only an Authorization header, then missing_credentials', () => {
    expect(authenticator()({ authorization: AUTH }, Buffer.from(BODY))).toEqual({ ok: false, reason: 'missing_credentials' });
  });
});

describe('an endpoint with no credentials', () => {
  it('when unsigned webhooks are not allowed, then everything is endpoint_not_configured, even a signed one', () => {
    const verify = authenticator({ secrets: [] });
    expect(verify({}, Buffer.from(BODY))).toEqual({ ok: false, reason: 'endpoint_not_configured' });
    expect(verify(signed(BODY), Buffer.from(BODY))).toEqual({ ok: false, reason: 'endpoint_not_configured' });
  });

  it('when unsigned webhooks are allowed, then anything is accepted as unsigned', () => {
    const verify = authenticator({ secrets: [], allowUnsigned: true });
    expect(verify({}, Buffer.from(BODY))).toEqual({ ok: true, method: 'unsigned', webhookId: null });
    expect(verify({ 'svix-id': 'msg_9' }, Buffer.from(BODY))).toEqual({ ok: true, method: 'unsigned', webhookId: 'msg_9' });
  });
});

describe('safeEqual (the constant-time comparison behind the Authorization and the operator tokens)', () => {
  it('property: it says what === says, whatever the two lengths', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(safeEqual(a, b)).toBe(a === b);
        expect(safeEqual(a, a)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('secure by default (src/webhooks/webhook-credentials.ts)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'cutover-credentials-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const resolve = (env: Record<string, string>) => resolveWebhookCredentials(loadConfig({ DATA_DIR: dataDir, ...env }));
  const verifierFor = (credentials: EndpointCredentials) => createWebhookAuthenticator({ credentials, toleranceSeconds: 300, clock: new ManualClock(NOW) });

  it('when NODE_ENV=production and no secret is set, then both endpoints refuse with endpoint_not_configured, say so, and no development secret is made', () => {
    const resolved = resolve({ NODE_ENV: 'production' });
    for (const credentials of [resolved.legacy, resolved.events]) {
      expect(verifierFor(credentials)({}, Buffer.from(BODY))).toEqual({ ok: false, reason: 'endpoint_not_configured' });
      expect(verifierFor(credentials)(signed(BODY), Buffer.from(BODY))).toEqual({ ok: false, reason: 'endpoint_not_configured' });
    }
    expect(resolved.warnings).toEqual([
      'legacy endpoint has no credentials configured: it refuses all traffic',
      'events endpoint has no secret configured: it refuses all traffic',
    ]);
    expect(existsSync(join(dataDir, DEV_SECRET_FILE))).toBe(false);
  });

  it('when ALLOW_UNSIGNED_WEBHOOKS is set outside production, then unsigned webhooks are accepted and a warning says so', () => {
    const resolved = resolve({ NODE_ENV: 'development', ALLOW_UNSIGNED_WEBHOOKS: 'true' });
    expect(verifierFor(resolved.events)({}, Buffer.from(BODY))).toMatchObject({ ok: true, method: 'unsigned' });
    expect(verifierFor(resolved.legacy)({}, Buffer.from(BODY))).toMatchObject({ ok: true, method: 'unsigned' });
    expect(resolved.warnings.join('\n')).toMatch(/legacy endpoint accepts UNSIGNED webhooks[\s\S]*events endpoint accepts UNSIGNED webhooks/);
  });

  it('when ALLOW_UNSIGNED_WEBHOOKS is set with NODE_ENV=production, then the configuration is refused at start-up', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', ALLOW_UNSIGNED_WEBHOOKS: 'true' })).toThrow(/ALLOW_UNSIGNED_WEBHOOKS: got "true"; expected false or unset when NODE_ENV=production/);
  });

  it('when no secret is set outside production, then a development secret is generated once (0600), reused on restart, and signs both endpoints', () => {
    const first = resolve({});
    const path = join(dataDir, DEV_SECRET_FILE);
    const secret = readFileSync(path, 'utf8').trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(first.events.secrets).toEqual([secret]);
    expect(first.legacy.secrets).toEqual([secret]);
    expect(first.warnings).toEqual([expect.stringContaining(`development secret in ${path} signs the legacy and events endpoint`)]);
    const second = resolve({});
    expect(second.events.secrets).toEqual([secret]);
    expect(readFileSync(path, 'utf8').trim()).toBe(secret);
    expect(verifierFor(second.events)(signed(BODY, { secret }), Buffer.from(BODY)).ok).toBe(true);
    expect(verifierFor(second.events)(signed(BODY, { secret: SECRET }), Buffer.from(BODY))).toEqual({ ok: false, reason: 'invalid_signature' });
  });

  it('when every endpoint has its credentials, then there is no warning and no development secret', () => {
    const resolved = resolve({ CODAT_EVENTS_SECRET: `${SECRET} ${OTHER_SECRET}`, CODAT_LEGACY_AUTH: 'Bearer legacy-secret-0123456789' });
    expect(resolved.warnings).toEqual([]);
    expect(resolved.events.secrets).toEqual([SECRET, OTHER_SECRET]);
    expect(resolved.legacy).toMatchObject({ secrets: [], authorization: 'Bearer legacy-secret-0123456789' });
    expect(existsSync(join(dataDir, DEV_SECRET_FILE))).toBe(false);
  });

  it('when only the legacy endpoint lacks credentials outside production, then only it gets the development secret', () => {
    const resolved = resolve({ CODAT_EVENTS_SECRET: SECRET });
    expect(resolved.events.secrets).toEqual([SECRET]);
    expect(resolved.legacy.secrets).toEqual([readFileSync(join(dataDir, DEV_SECRET_FILE), 'utf8').trim()]);
    expect(resolved.warnings).toEqual([expect.stringContaining('signs the legacy endpoint')]);
  });

  it('when secrets are listed with commas and spaces (rotation), then each is used; a malformed one stops start-up', () => {
    expect(loadConfig({ CODAT_EVENTS_SECRET: ` ${SECRET}, ${OTHER_SECRET}  ${THIRD_SECRET}` }).CODAT_EVENTS_SECRET).toEqual([SECRET, OTHER_SECRET, THIRD_SECRET]);
    expect(() => loadConfig({ CODAT_EVENTS_SECRET: 'not-a-secret' })).toThrow(/CODAT_EVENTS_SECRET/);
  });
});
