/**
 * `codat-cutover`: the operator's command line for a running service (package.json `bin`, so `npx codat-cutover …`).
 * Arguments are parsed with Node's `util.parseArgs`, strictly: an unknown option or a misspelt value is an error
 * with the command's help, never a guess. Output goes to stdout, progress and errors to stderr.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CutoverReport } from '../report/cutover-page.js';
import type { DeadLetterDetail, DeadLetterSummary, QuarantineDetail, QuarantineSummary } from '../store/operator-queries.js';
import { CliError, EXIT, createClient, type Client } from './client.js';
import { channelOfSample, freshen, sampleBody, sampleNames, secretFor, sendWebhook } from './webhook-sender.js';

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  out(text: string): void;
  err(text: string): void;
}

const GLOBAL_HELP = `Usage: codat-cutover <command> [options]

The operator's console for a running codat-cutover.

Commands:
  status         The readiness verdict with its reasons; exits 1 unless the asked phase is safe (a gate for CI/CD)
  send           Signs and sends Codat sample webhooks or a file, with fresh ids by default
  dead-letters   Deliveries that failed every attempt: list, show one, replay one, a selection or all
  quarantine     Webhooks that could not be converted or are of an unknown type: list, show, replay
  flags          The toggles (codat-new-event-types, codat-legacy-consumer) as the service sees them

Options for every command:
  --url <url>      The service (default: $CODAT_CUTOVER_URL, else http://127.0.0.1:$PORT, PORT 3000)
  --token <token>  The operator token (default: $ADMIN_TOKEN)
  -h, --help       Help for the command

Exit codes: 0 done or safe, 1 not safe or nothing matched, 2 bad usage, 3 the service did not answer.
Run 'codat-cutover <command> --help' for a command's options.`;

const COMMON = {
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const HELP: Record<string, string> = {
  status: `Usage: codat-cutover status [--phase flip|contract] [--json]

Prints the readiness verdict, its reasons and the figures behind it.
  --phase flip      exit 0 only if it is safe to flip (or raise the rollout of) codat-new-event-types
  --phase contract  exit 0 only if it is safe to contract (turn codat-legacy-consumer off), or already contracted
  (no --phase)      exit 0 only if the next step the verdict names is safe
  --json            the report as JSON (GET /cutover)

Example, as a gate before a flag change: codat-cutover status --phase flip && <flip the toggle>`,
  send: `Usage: codat-cutover send [<sample>...] [--all] [--file <path> --channel legacy|events] [options]

Signs webhooks as Codat's webhook service does (Standard Webhooks) and sends them.
  <sample>...          bundled samples by name (see --list), e.g. legacy-DataSyncCompleted event-read.completed
  --all                every bundled sample
  --list               list the bundled samples and exit
  --file <path>        a body of your own; needs --channel
  --channel <channel>  legacy or events: which endpoint a --file goes to
  --keep-ids           send the bodies as they are (a second send is then a duplicate); default: fresh ids and times
  --id <webhook-id>    the webhook-id header (default: a fresh one per send; reuse one to test redelivery)

The secret is $CODAT_EVENTS_SECRET / $CODAT_LEGACY_SECRET, else the development secret in $DATA_DIR (default .data).`,
  'dead-letters': `Usage: codat-cutover dead-letters [list] [--type <type>] [--limit <n>] [--after <cursor>] [--every] [--with-body] [--json]
       codat-cutover dead-letters show <occurrenceId> [--json]
       codat-cutover dead-letters replay (<occurrenceId>... | --all | --type <type>)

Deliveries that failed every attempt, oldest first, with the last error.
  --type <type>   only this domain type (e.g. write.succeeded)
  --limit <n>     entries per page, 1-500 (default 50)
  --after <c>     the page after this cursor (printed under a full page)
  --every         all pages
  --with-body     also print each entry's payload (one request per entry)
  replay          puts dead letters back in the delivery queue: the ids given, all of them (--all), or those of a --type;
                  large selections are replayed in chunks with progress on stderr`,
  quarantine: `Usage: codat-cutover quarantine [list] [--channel legacy|events] [--state quarantined|unrecognised] [--reason <prefix>] [--limit <n>] [--after <cursor>] [--every] [--with-body] [--json]
       codat-cutover quarantine show <inboxId> [--json]
       codat-cutover quarantine replay (<inboxId>... | --all | --channel … | --state … | --reason …)

Authentic webhooks that could not be converted (quarantined, with the reason) or are of a type this service does not
know (unrecognised). Replay them once the mapping is fixed: they are processed again from the stored body.
  --reason <p>    only those whose reason starts with this (e.g. malformed_json, unknown_event_type)`,
  flags: `Usage: codat-cutover flags [--json]

The toggles as the service evaluates them: codat-new-event-types (on for how many companies) and
codat-legacy-consumer (off = contracted), and where the flags come from (Unleash or flags/).`,
};

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

function parse(command: string, args: readonly string[], options: ParseArgsConfig['options']): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (error) {
    throw new CliError(`${error instanceof Error ? error.message : String(error)}\n\n${HELP[command] ?? GLOBAL_HELP}`, EXIT.usage);
  }
}

const text = (values: Values, name: string) => (typeof values[name] === 'string' ? values[name] : undefined);

function clientOf(values: Values, env: CliIo['env']): Client {
  const url = text(values, 'url') ?? env.CODAT_CUTOVER_URL ?? env.SERVICE_URL ?? `http://127.0.0.1:${env.PORT ?? '3000'}`;
  return createClient(url, text(values, 'token') ?? env.ADMIN_TOKEN);
}

const pct = (value: number | null) => (value === null ? 'n/a' : `${(value * 100).toFixed(value >= 0.9995 ? 0 : 2)}%`);

// ---- status ----

async function status(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse('status', args, { phase: { type: 'string' }, json: { type: 'boolean' } });
  const phase = text(values, 'phase');
  if (phase !== undefined && phase !== 'flip' && phase !== 'contract') throw new CliError(`--phase must be flip or contract, not "${phase}"\n\n${HELP.status}`, EXIT.usage);
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

// ---- flags ----

async function flags(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse('flags', args, { json: { type: 'boolean' } });
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

// ---- send ----

async function send(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('send', args, {
    all: { type: 'boolean' },
    list: { type: 'boolean' },
    file: { type: 'string' },
    channel: { type: 'string' },
    'keep-ids': { type: 'boolean' },
    id: { type: 'string' },
  });
  const names = sampleNames();
  if (values.list || (positionals.length === 0 && !values.all && !values.file)) {
    io.out(`Samples (send with: codat-cutover send <name>… or --all):\n  ${names.join('\n  ')}`);
    return EXIT.ok;
  }
  const channelOption = text(values, 'channel');
  if (channelOption !== undefined && channelOption !== 'legacy' && channelOption !== 'events') {
    throw new CliError(`--channel must be legacy or events, not "${channelOption}"`, EXIT.usage);
  }
  let items: { label: string; channel: 'legacy' | 'events'; body: string }[];
  const file = text(values, 'file');
  if (file !== undefined) {
    if (channelOption === undefined) throw new CliError('--file needs --channel legacy or --channel events', EXIT.usage);
    if (positionals.length > 0 || values.all) throw new CliError('--file sends one body: give no sample names and no --all with it', EXIT.usage);
    items = [{ label: file, channel: channelOption, body: readFileSync(file, 'utf8') }];
  } else {
    const chosen = values.all ? names : positionals;
    const unknown = chosen.filter((n) => !names.includes(n.replace(/\.json$/, '')));
    if (unknown.length > 0) throw new CliError(`unknown sample(s): ${unknown.join(', ')} (codat-cutover send --list shows them)`, EXIT.usage);
    if (channelOption !== undefined) throw new CliError('--channel is for --file; a sample goes to the endpoint of its format', EXIT.usage);
    items = chosen.map((n) => n.replace(/\.json$/, '')).map((name) => ({ label: name, channel: channelOfSample(name), body: sampleBody(name) }));
  }
  if (!values['keep-ids']) {
    const fresh = freshen(items.map((i) => i.body), Date.now());
    items = items.map((item, i) => ({ ...item, body: fresh[i] ?? item.body }));
  }
  const url = clientOf(values, io.env).url;
  const secrets = { env: io.env, dataDir: io.env.DATA_DIR ?? '.data' };
  let failed = 0;
  for (const item of items) {
    let result;
    try {
      result = await sendWebhook(url, item.channel, item.body, secretFor(item.channel, secrets), text(values, 'id'));
    } catch (error) {
      if (error instanceof TypeError) throw new CliError(`cannot reach ${url} (is the service running? --url says where)`, EXIT.service);
      throw new CliError(error instanceof Error ? error.message : String(error), EXIT.usage);
    }
    if (result.status >= 300) failed += 1;
    io.out(`${result.status} ${item.channel.padEnd(6)} ${item.label} ${result.webhookId} ${result.answer}`);
  }
  return failed === 0 ? EXIT.ok : EXIT.service;
}

// ---- dead letters and quarantine ----

interface Queue<S, D> {
  readonly name: 'dead-letters' | 'quarantine';
  readonly path: string;
  readonly listKey: string;
  readonly showKey: string;
  readonly filters: Readonly<Record<string, { readonly type: 'string' }>>;
  idOf(entry: S): string;
  line(entry: S): string;
  detail(entry: D): string;
}

const deadLetters: Queue<DeadLetterSummary, DeadLetterDetail> = {
  name: 'dead-letters',
  path: '/admin/dead-letters',
  listKey: 'deadLetters',
  showKey: 'deadLetter',
  filters: { type: { type: 'string' } },
  idOf: (e) => e.occurrenceId,
  line: (e) => `${e.occurrenceId}  ${e.type ?? '?'}  company ${e.companyId ?? '-'}  ${e.attempts} attempt(s)  since ${e.createdAt}\n    last error: ${e.lastError ?? '-'}`,
  detail: (e) => `occurrenceId ${e.occurrenceId}\ntype         ${e.type ?? '?'}\ncompany      ${e.companyId ?? '-'}\nattempts     ${e.attempts}\nqueued at    ${e.createdAt}\nlast error   ${e.lastError ?? '-'}\npayload\n${JSON.stringify(e.payload, null, 2)}`,
};

const quarantine: Queue<QuarantineSummary, QuarantineDetail> = {
  name: 'quarantine',
  path: '/admin/quarantine',
  listKey: 'webhooks',
  showKey: 'webhook',
  filters: { channel: { type: 'string' }, state: { type: 'string' }, reason: { type: 'string' } },
  idOf: (e) => String(e.inboxId),
  line: (e) => `${e.inboxId}  ${e.channel.padEnd(6)}  ${e.state}  ${e.bytes} bytes  received ${e.receivedAt}\n    reason: ${e.detail ?? '-'}`,
  detail: (e) => `inboxId      ${e.inboxId}\nchannel      ${e.channel}\nstate        ${e.state}\nreason       ${e.detail ?? '-'}\nreceived at  ${e.receivedAt}\nbody (${e.bytes} bytes)\n${prettyJson(e.body)}`,
};

function prettyJson(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function pathWith(base: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
  const q = query.toString();
  return q ? `${base}?${q}` : base;
}

async function queueCommand<S, D>(queue: Queue<S, D>, args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(queue.name, args, {
    ...queue.filters,
    limit: { type: 'string' },
    after: { type: 'string' },
    every: { type: 'boolean' },
    all: { type: 'boolean' },
    'with-body': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const [action = 'list', ...ids] = positionals;
  const client = clientOf(values, io.env);
  const filters = Object.fromEntries(Object.keys(queue.filters).map((name) => [name, text(values, name)]));
  const filtered = Object.values(filters).some((v) => v !== undefined);

  async function page(after: string | undefined, limit: string | undefined) {
    const answer = await client.get<Record<string, unknown>>(pathWith(queue.path, { ...filters, limit, after }));
    return { entries: (answer[queue.listKey] ?? []) as S[], next: (answer.next ?? null) as string | null };
  }

  switch (action) {
    case 'list': {
      if (ids.length > 0) throw new CliError(`list takes no ids (did you mean show?)\n\n${HELP[queue.name]}`, EXIT.usage);
      let after = text(values, 'after');
      let shown = 0;
      for (;;) {
        const { entries, next } = await page(after, text(values, 'limit'));
        for (const entry of entries) {
          if (values.json) io.out(JSON.stringify(entry));
          else io.out(queue.line(entry));
          if (values['with-body']) {
            const detail = await client.get<Record<string, D>>(`${queue.path}/${encodeURIComponent(queue.idOf(entry))}`);
            const d = detail[queue.showKey];
            if (d) io.out(values.json ? JSON.stringify(d) : queue.detail(d).replace(/^/gm, '    '));
          }
        }
        shown += entries.length;
        if (next === null) break;
        if (!values.every) {
          io.out(`… more: --after ${next} (or --every for all pages)`);
          break;
        }
        after = next;
      }
      if (shown === 0 && !values.json) io.out(`No ${queue.name === 'quarantine' ? 'quarantined webhooks' : 'dead letters'}${filtered ? ' match' : ''}.`);
      return EXIT.ok;
    }
    case 'show': {
      const [id, ...extra] = ids;
      if (id === undefined || extra.length > 0) throw new CliError(`show takes one id\n\n${HELP[queue.name]}`, EXIT.usage);
      const answer = await client.get<Record<string, D>>(`${queue.path}/${encodeURIComponent(id)}`);
      const entry = answer[queue.showKey];
      if (!entry) throw new CliError(`no entry ${id}`, EXIT.unsafe);
      io.out(values.json ? JSON.stringify(entry, null, 2) : queue.detail(entry));
      return EXIT.ok;
    }
    case 'replay': {
      const modes = [ids.length > 0, values.all === true, filtered].filter(Boolean).length;
      if (modes !== 1) throw new CliError(`replay what? Give ids, or --all, or a filter (not several)\n\n${HELP[queue.name]}`, EXIT.usage);
      let selection: string[] = ids;
      if (ids.length === 0) {
        // Collected first, then replayed: a replayed entry leaves the list, so paging while replaying would skip some.
        selection = [];
        let after: string | undefined;
        do {
          const { entries, next } = await page(after, '500');
          selection.push(...entries.map(queue.idOf));
          after = next ?? undefined;
        } while (after !== undefined);
      }
      const body = (chunk: readonly string[]) => ({ ids: queue.name === 'quarantine' ? chunk.map(Number) : chunk });
      let replayed = 0;
      const CHUNK = 200;
      for (let i = 0; i < selection.length; i += CHUNK) {
        const chunk = selection.slice(i, i + CHUNK);
        replayed += (await client.post<{ replayed: number }>(`${queue.path}/replay`, body(chunk))).replayed;
        if (selection.length > CHUNK) io.err(`replayed ${Math.min(i + CHUNK, selection.length)}/${selection.length}`);
      }
      io.out(`Replayed ${replayed} of ${selection.length} selected${replayed < selection.length ? ' (the others were no longer there: replayed already, or not found)' : ''}.`);
      return replayed > 0 || selection.length === 0 ? EXIT.ok : EXIT.unsafe;
    }
    default:
      throw new CliError(`unknown action "${action}": list, show or replay\n\n${HELP[queue.name]}`, EXIT.usage);
  }
}

const COMMANDS: Record<string, (args: readonly string[], io: CliIo) => Promise<number>> = {
  status,
  send,
  flags,
  'dead-letters': (args, io) => queueCommand(deadLetters, args, io),
  quarantine: (args, io) => queueCommand(quarantine, args, io),
};

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(GLOBAL_HELP);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  const run = COMMANDS[command];
  if (!run) {
    io.err(`unknown command "${command}"\n\n${GLOBAL_HELP}`);
    return EXIT.usage;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.out(HELP[command] ?? GLOBAL_HELP);
    return EXIT.ok;
  }
  try {
    return await run(args, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.err(error.message);
      return error.exitCode;
    }
    throw error;
  }
}
