/**
 * vitest globalSetup for the integration suite: only the slow one-off step — installing the pinned
 * unleash-server into node_modules/.cache/unleash-server/ (skipped when that version is there) — so
 * that each test file can start its own server (fresh database) in a few seconds.
 */
import { ensureUnleashServerInstalled, UNLEASH_SERVER_VERSION } from './unleash-server.js';

export async function setup(): Promise<void> {
  const started = Date.now();
  await ensureUnleashServerInstalled((line) => console.log(`[global-setup] ${line}`));
  console.log(`[global-setup] unleash-server@${UNLEASH_SERVER_VERSION} ready (${Date.now() - started} ms)`);
}

export async function teardown(): Promise<void> {
  // Servers are started and stopped by the test files themselves; the install is kept as a cache.
}
