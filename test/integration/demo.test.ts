/**
 * `npm run demo` as a newcomer runs it (README "Try it"): the whole cutover through the contract, ending with the
 * evidence, and every occurrence delivered exactly once.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('npm run demo', () => {
  it('when run, then it walks from not ready through the gradual flip to ready to contract and contracted, and delivers each occurrence once', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, timeout: 110_000 }, (error, out) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out }),
      );
    });
    expect(code, stdout).toBe(0);
    const verdicts = [...stdout.matchAll(/verdict: ([A-Z-]+)/g)].map((m) => m[1]);
    expect(verdicts).toEqual(['NOT-READY', 'READY-TO-FLIP', 'READY-TO-FLIP', 'FLIPPED', 'READY-TO-CONTRACT', 'CONTRACTED']);
    const [, occurrences, events, distinct] = /(\d+) occurrences, .* the downstream got (\d+) events, (\d+) distinct/.exec(stdout) ?? [];
    expect(Number(occurrences)).toBeGreaterThan(500);
    expect(events).toBe(occurrences);
    expect(distinct).toBe(occurrences);
    expect(stdout).toMatch(/\b40 legacy copies stored and acknowledged but not delivered/);
    expect(stdout).toMatch(/codat_cutover_legacy_consumer_enabled 0/);
  }, 120_000);
});
