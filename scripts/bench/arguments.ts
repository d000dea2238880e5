/** `npm run bench -- …`: what a bench run measures, from its command line. */
import { parseArgs } from 'node:util';

export const SIDE_NAMES = ['embedded', 'postgres', 'replicas', 'naive', 'express', 'http', 'relay', 'durable-sqlite', 'durable-postgres'] as const;
export type SideName = (typeof SIDE_NAMES)[number];

export interface BenchSettings {
  /** Repeated runs of every side; the table shows medians. */
  readonly runs: number;
  /** Occurrences per run, each sent as a legacy copy and its new-format twin (2 webhooks). */
  readonly occurrences: number;
  /** Occurrences sent (and delivered) before each measured run, so that the JIT is warm. */
  readonly warmup: number;
  readonly connections: number;
  /** Offered webhooks per second (open loop); undefined: as fast as they are accepted (closed loop). */
  readonly rate: number | undefined;
  readonly sides: readonly SideName[];
  /** How long to wait for the last delivery after the load, seconds. */
  readonly drainTimeoutSeconds: number;
  readonly json: string | undefined;
  /** Service sides write V8 CPU profiles (`node --cpu-prof`) into a folder the bench names. */
  readonly cpuProf: boolean;
  readonly quick: boolean;
}

export const USAGE = `npm run bench -- [options]

  --quick              one short run of every side (about 2 minutes): --runs 1 --occurrences 5000 --warmup 200
  --runs N             repeated runs per side, medians shown (default 3)
  --occurrences N      occurrences per run, 2 webhooks each (default 15000)
  --warmup N           occurrences sent and delivered before each run (default 500)
  --connections N      concurrent connections of the load (default 32)
  --rate N             offer N webhooks/s (open loop) instead of as many as are accepted
  --sides a,b,…        any of ${SIDE_NAMES.join(', ')} (default embedded,durable-sqlite,postgres,durable-postgres,naive,relay,express)
  --drain-timeout S    seconds to wait for the last delivery (default 600)
  --cpu-prof           write V8 CPU profiles of the service sides
  --json FILE          also write every figure as JSON`;

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number, not ${value}`);
  return n;
}

export function parseBenchArguments(argv: readonly string[]): BenchSettings {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      occurrences: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '32' },
      rate: { type: 'string' },
      sides: { type: 'string', default: 'embedded,durable-sqlite,postgres,durable-postgres,naive,relay,express' },
      'drain-timeout': { type: 'string', default: '600' },
      'cpu-prof': { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const sides = (values.sides ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const side of sides) {
    if (!(SIDE_NAMES as readonly string[]).includes(side)) throw new Error(`--sides: ${side} is not one of ${SIDE_NAMES.join(', ')}`);
  }
  return {
    runs: positive('runs', values.runs ?? (quick ? '1' : '3')),
    occurrences: positive('occurrences', values.occurrences ?? (quick ? '5000' : '15000')),
    warmup: values.warmup === '0' ? 0 : positive('warmup', values.warmup ?? (quick ? '200' : '500')),
    connections: positive('connections', values.connections ?? '32'),
    rate: values.rate === undefined ? undefined : positive('rate', values.rate),
    sides: sides as SideName[],
    drainTimeoutSeconds: positive('drain-timeout', values['drain-timeout'] ?? '600'),
    json: values.json,
    cpuProf: values['cpu-prof'] ?? false,
    quick,
  };
}
