import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackgroundThreadStopped, startBackgroundThread } from '../../src/jobs/background-handle.js';
import { describeCutoverStoreContract } from '../contract/cutover-store.contract.js';
import { T0, buildNewWebhook } from '../support/builders.js';
import { sampleText } from '../support/samples.js';
import { silentLogger } from '../../src/observability/json-logger.js';

// The embedded store as the service runs it: the SQL store on the background thread, behind a message proxy.
// One thread for the whole contract, emptied between cases the way the PostgreSQL run truncates its tables:
// a thread started from TypeScript compiles every module again, and a thread per case made this the slowest file.
describe('one background thread', () => {
  let dir: string;
  let path: string;
  let thread: ReturnType<typeof startBackgroundThread>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cutover-threaded-'));
    path = join(dir, 'cutover.db');
    thread = startBackgroundThread({ sqlitePath: path });
    await thread.store.migrate();
  });
  afterAll(async () => {
    await thread.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describeCutoverStoreContract('SQLite on the background thread', () =>
    Promise.resolve({
      store: thread.store,
      cleanup: async () => {
        // After whatever the thread still had queued: a late commit would otherwise reach the next case.
        await thread.store.ping();
        emptyDatabase(path);
      },
    }));
});

/** Every row the store holds, gone (the schema and its migration records kept), through a connection of the test's own. */
function emptyDatabase(path: string): void {
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 5000');
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'kysely_%'`).all() as { name: string }[]).map((row) => row.name);
    if (!tables.includes('inbox')) throw new Error(`expected the store's tables, found ${tables.join(', ')}`);
    db.transaction(() => {
      for (const table of tables) db.exec(`DELETE FROM "${table}"`);
      db.exec('DELETE FROM sqlite_sequence');
    })();
  } finally {
    db.close();
  }
}

describe('the background thread', () => {
  it('carries bodies byte for byte, including bytes that are not UTF-8', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-threaded-'));
    const { store } = startBackgroundThread({ sqlitePath: join(dir, 'cutover.db') });
    try {
      await store.migrate();
      // A slice of a larger buffer: only its own bytes may cross.
      const pool = Buffer.concat([Buffer.from('prefix'), Buffer.from([0xff, 0x00, 0x7b, 0xc3]), Buffer.from('suffix')]);
      const body = pool.subarray(6, 10);
      await store.append([buildNewWebhook({ body, dedupeKey: 'bytes' })]);
      const [claimed] = await store.claimPending(T0 + 1, 10, 1000);
      expect(Buffer.isBuffer(claimed?.body)).toBe(true);
      expect([...(claimed?.body ?? [])]).toEqual([0xff, 0x00, 0x7b, 0xc3]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects calls with BackgroundThreadStopped once the thread has died, and reports it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-threaded-'));
    const failures: Error[] = [];
    // A path the thread cannot open: SQLite throws while the worker starts.
    const { store } = startBackgroundThread({ sqlitePath: join(dir, 'missing', 'folder', 'cutover.db') }, { onFatal: (error) => failures.push(error) });
    try {
      await expect(store.migrate()).rejects.toBeInstanceOf(BackgroundThreadStopped);
      await expect(store.ping()).rejects.toBeInstanceOf(BackgroundThreadStopped);
      expect(failures.length).toBeGreaterThan(0);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** Lines the service thread's logger heard while the thread settled and delivered one webhook under `logLevel`. */
  async function linesHeardDelivering(logLevel: 'debug' | 'info' | 'warn'): Promise<{ level: string; message: string }[]> {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-threaded-'));
    const downstream = join(dir, 'downstream.jsonl');
    const heard: { level: string; message: string }[] = [];
    const hear = (level: string) => (message: string) => void heard.push({ level, message });
    const thread = startBackgroundThread(
      {
        sqlitePath: join(dir, 'cutover.db'),
        logLevel,
        pipeline: { graceMs: 120_000, windowMs: 900_000, maxAttempts: 3, deliveryLeaseMs: 30_000, settleBatchSize: 50, downstream: { file: downstream } },
      },
      {
        primaryChannels: (companyIds) => companyIds.map(() => 'legacy' as const),
        logger: { debug: hear('debug'), info: hear('info'), warn: hear('warn'), error: hear('error'), child: () => silentLogger },
      },
    );
    try {
      await thread.store.migrate();
      await thread.startPipeline();
      await thread.store.append([buildNewWebhook({ body: Buffer.from(sampleText('legacy-DataSyncCompleted')), receivedAt: Date.now() })]);
      const deadline = Date.now() + 20_000;
      while (!(existsSync(downstream) && readFileSync(downstream, 'utf8').length > 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(readFileSync(downstream, 'utf8').trim().split('\n')).toHaveLength(1);
      // Answered after the runs in flight ended, on the same port as their lines: every line sent has arrived.
      await thread.stopPipeline();
      return heard;
    } finally {
      await thread.store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('forwards the pipeline\'s lines at LOG_LEVEL and above to the service thread, and sends none below it', async () => {
    const below = (heard: { level: string }[], levels: readonly string[]) => heard.filter((line) => levels.includes(line.level));
    // The same path writes a debug and an info line: at each level, what is below it never arrives.
    const atDebug = await linesHeardDelivering('debug');
    expect(atDebug).toContainEqual({ level: 'debug', message: 'webhook converted' });
    expect(atDebug).toContainEqual({ level: 'info', message: 'delivered' });
    const atInfo = await linesHeardDelivering('info');
    expect(atInfo).toContainEqual({ level: 'info', message: 'delivered' });
    expect(below(atInfo, ['debug'])).toEqual([]);
    const atWarn = await linesHeardDelivering('warn');
    expect(below(atWarn, ['debug', 'info'])).toEqual([]);
  }, 60_000);

  it('when the toggle cannot be read for a batch, then the batch waits (nothing hangs), and it is settled and delivered once the toggle answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-threaded-'));
    const downstream = join(dir, 'downstream.jsonl');
    let failuresLeft = 1;
    const errors: string[] = [];
    const thread = startBackgroundThread(
      {
        sqlitePath: join(dir, 'cutover.db'),
        pipeline: { graceMs: 120_000, windowMs: 900_000, maxAttempts: 3, deliveryLeaseMs: 30_000, settleBatchSize: 50, downstream: { file: downstream } },
      },
      {
        primaryChannels: (companyIds) => {
          if (failuresLeft-- > 0) throw new Error('Unleash SDK exploded');
          return companyIds.map(() => 'legacy' as const);
        },
        logger: { ...silentLogger, error: (message) => void errors.push(message) },
      },
    );
    try {
      await thread.store.migrate();
      await thread.startPipeline();
      await thread.store.append([buildNewWebhook({ body: Buffer.from(sampleText('legacy-DataSyncCompleted')), receivedAt: Date.now() })]);
      // The failed batch keeps its 15 s lease, then it is claimed again.
      const deadline = Date.now() + 40_000;
      while (!(existsSync(downstream) && readFileSync(downstream, 'utf8').length > 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(readFileSync(downstream, 'utf8').trim().split('\n')).toHaveLength(1);
      expect(errors.filter((e) => e.includes('could not read the toggle'))).toHaveLength(1);
      await thread.stopPipeline();
    } finally {
      await thread.store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
