import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createJsonLinesSink } from '../../src/delivery/downstream-sink.js';

describe('the JSON-lines sink', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-sink-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('when a batch is delivered at once, then every event is one line, in order, and each delivery resolves once written', async () => {
    const path = join(tempDir(), 'nested', 'downstream.jsonl');
    const sink = createJsonLinesSink(path);
    const events = Array.from({ length: 120 }, (_, i) => JSON.stringify({ id: `occ-${i}` }));
    await Promise.all(events.map((payload, i) => sink.deliver(payload, `occ-${i}`)));
    await sink.deliver(JSON.stringify({ id: 'later' }), 'later');
    expect(readFileSync(path, 'utf8')).toBe([...events, JSON.stringify({ id: 'later' })].map((line) => `${line}\n`).join(''));
  });

  it('when the file cannot be written, then every waiting delivery fails (to be retried) and none is reported delivered', async () => {
    const path = join(tempDir(), 'downstream.jsonl');
    mkdirSync(path); // a folder where the file should be
    const sink = createJsonLinesSink(path);
    const outcomes = await Promise.allSettled(['a', 'b', 'c'].map((id) => sink.deliver(JSON.stringify({ id }), id)));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });
});
