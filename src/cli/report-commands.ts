/**
 * `codat-cutover status` and `codat-cutover flags`: the readiness verdict and the toggles, both read from
 * `GET /cutover`. `status` is the gate for CI/CD: its exit code says whether the asked phase is safe.
 */
import type { CutoverReport } from '../readiness/cutover-page.js';
import { CliError, EXIT } from './client.js';
import { clientOf, parse, text, type CliIo, type Command } from './cli-command.js';

const pct = (value: number | null) => (value === null ? 'n/a' : `${(value * 100).toFixed(value >= 0.9995 ? 0 : 2)}%`);

const STATUS_HELP = `Usage: codat-cutover status [--phase flip|contract] [--json]

Prints the readiness verdict, its reasons and the figures behind it.
  --phase flip      exit 0 only if it is safe to flip (or raise the rollout of) codat-new-event-types
  --phase contract  exit 0 only if it is safe to contract (turn codat-legacy-consumer off), or already contracted
  (no --phase)      exit 0 only if the next step the verdict names is safe
  --json            the report as JSON (GET /cutover)

Example, as a gate before a flag change: codat-cutover status --phase flip && <flip the toggle>`;

async function status(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse(STATUS_HELP, args, { phase: { type: 'string' }, json: { type: 'boolean' } });
  const phase = text(values, 'phase');
  if (phase !== undefined && phase !== 'flip' && phase !== 'contract') throw new CliError(`--phase must be flip or contract, not "${phase}"\n\n${STATUS_HELP}`, EXIT.usage);
  const report = await clientOf(values, io.env).get<CutoverReport>('/cutover');
  const { readiness, toggle } = report;
  const verdict = readiness.verdict;
  const safe =
    phase === 'flip' ? verdict !== 'not-ready'
    : phase === 'contract' ? verdict === 'ready-to-contract' || verdict === 'contracted'
    : readiness.safe;
  if (values.json) {
    io.out(JSON.stringify(report, null, 2));
    return safe ? EXIT.ok : EXIT.unsafe;
  }
  const asked = phase === undefined ? 'the next step' : phase === 'flip' ? 'flipping' : 'contracting';
  io.out(`Verdict: ${verdict} (${readiness.phase}) — ${safe ? 'safe' : 'NOT safe'} for ${asked}`);
  io.out(`Next: ${readiness.nextStep}`);
  const blockers = readiness.reasons.filter((r) => r.level === 'blocker');
  const notes = readiness.reasons.filter((r) => r.level === 'info');
  if (blockers.length > 0) io.out(`Blockers:\n${blockers.map((r) => `  - ${r.message}`).join('\n')}`);
  if (notes.length > 0) io.out(`Worth knowing:\n${notes.map((r) => `  - ${r.message}`).join('\n')}`);
  const o = readiness.overall;
  io.out(`Coverage ${pct(o.coverage)} · mismatches ${o.mismatches} · rescued ${o.rescued} · seen on both / legacy only / new only: ${o.both} / ${o.legacyOnly} / ${o.eventsOnly} (last ${report.observationHours} h, closed windows)`);
  if (report.details) {
    const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
    io.out(`Not judged yet: ${sum(report.details.pending)} occurrence(s) with an open window, ${sum(report.details.held)} held for their primary copy`);
  }
  io.out(`Toggles: codat-new-event-types ${toggle.enabled ? `on for ${toggle.rolloutPercent}% of companies` : 'off'} · codat-legacy-consumer ${toggle.legacyConsumer === false ? 'off (contracted)' : 'on'}`);
  if (phase === 'flip' && verdict !== 'not-ready' && verdict !== 'ready-to-flip') io.out('(already flipped)');
  return safe ? EXIT.ok : EXIT.unsafe;
}

const FLAGS_HELP = `Usage: codat-cutover flags [--json]

The toggles as the service evaluates them: codat-new-event-types (on for how many companies) and
codat-legacy-consumer (off = contracted), and where the flags come from (Unleash or flags/).`;

async function flags(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse(FLAGS_HELP, args, { json: { type: 'boolean' } });
  const { toggle } = await clientOf(values, io.env).get<CutoverReport>('/cutover');
  if (values.json) {
    io.out(JSON.stringify(toggle, null, 2));
    return EXIT.ok;
  }
  io.out(`codat-new-event-types  ${toggle.enabled ? `on, ${toggle.rolloutPercent}% of companies on the new channel` : 'off: the legacy channel is primary for every company'}`);
  io.out(`codat-legacy-consumer  ${toggle.legacyConsumer === false ? 'off: contracted (legacy copies of replaced types are stored, not delivered)' : 'on: the legacy consumer runs'}`);
  const { source, serverReachable, lastError } = toggle.flags;
  const from = source === 'unleash' ? 'Unleash' : 'flags/unleash-export.json (bootstrap)';
  io.out(`source                 ${from}${serverReachable === false ? `, Unleash NOT reachable: ${lastError ?? ''}` : serverReachable ? ', Unleash reachable' : ''}`);
  return EXIT.ok;
}

export const statusCommand: Command = { help: STATUS_HELP, run: status };
export const flagsCommand: Command = { help: FLAGS_HELP, run: flags };
