/**
 * `codat-cutover dead-letters` and `codat-cutover quarantine`: the two queues an operator works through.
 * Both list a page at a time (or every page), show one entry with its payload or body, and replay the ids
 * given, all of them, or those a filter selects.
 */
import type { DeadLetterDetail, DeadLetterSummary, QuarantineDetail, QuarantineSummary } from '../cutover-store.js';
import { CliError, EXIT } from './client.js';
import { clientOf, parse, text, type CliIo, type Command } from './cli-command.js';

const DEAD_LETTERS_HELP = `Usage: codat-cutover dead-letters [list] [--type <type>] [--limit <n>] [--after <cursor>] [--every] [--with-body] [--json]
       codat-cutover dead-letters show <occurrenceId> [--json]
       codat-cutover dead-letters replay (<occurrenceId>... | --all | --type <type>)

Deliveries that failed every attempt, oldest first, with the last error.
  --type <type>   only this domain type (e.g. write.succeeded)
  --limit <n>     entries per page, 1-500 (default 50)
  --after <c>     the page after this cursor (printed under a full page)
  --every         all pages
  --with-body     also print each entry's payload (one request per entry)
  replay          puts dead letters back in the delivery queue: the ids given, all of them (--all), or those of a --type;
                  large selections are replayed in chunks with progress on stderr`;

const QUARANTINE_HELP = `Usage: codat-cutover quarantine [list] [--channel legacy|events] [--state quarantined|unrecognised] [--reason <prefix>] [--limit <n>] [--after <cursor>] [--every] [--with-body] [--json]
       codat-cutover quarantine show <inboxId> [--json]
       codat-cutover quarantine replay (<inboxId>... | --all | --channel … | --state … | --reason …)

Authentic webhooks that could not be converted (quarantined, with the reason) or are of a type this service does not
know (unrecognised). Replay them once the mapping is fixed: they are processed again from the stored body.
  --reason <p>    only those whose reason starts with this (e.g. malformed_json, unknown_event_type)`;

interface Queue<S, D> {
  readonly name: 'dead-letters' | 'quarantine';
  readonly help: string;
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
  help: DEAD_LETTERS_HELP,
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
  help: QUARANTINE_HELP,
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
  const { values, positionals } = parse(queue.help, args, {
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
      if (ids.length > 0) throw new CliError(`list takes no ids (did you mean show?)\n\n${queue.help}`, EXIT.usage);
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
      if (id === undefined || extra.length > 0) throw new CliError(`show takes one id\n\n${queue.help}`, EXIT.usage);
      const answer = await client.get<Record<string, D>>(`${queue.path}/${encodeURIComponent(id)}`);
      const entry = answer[queue.showKey];
      if (!entry) throw new CliError(`no entry ${id}`, EXIT.unsafe);
      io.out(values.json ? JSON.stringify(entry, null, 2) : queue.detail(entry));
      return EXIT.ok;
    }
    case 'replay': {
      const modes = [ids.length > 0, values.all === true, filtered].filter(Boolean).length;
      if (modes !== 1) throw new CliError(`replay what? Give ids, or --all, or a filter (not several)\n\n${queue.help}`, EXIT.usage);
      let selection: string[] = ids;
      if (ids.length === 0) {
        // Collected first, then replayed: a replayed entry leaves the list, so paging while replaying would skip some.
        selection = [];
        let after: string | undefined;
        do {
          const { entries, next } = await page(after, '500');
          selection.push(...entries.map((entry) => queue.idOf(entry)));
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
      throw new CliError(`unknown action "${action}": list, show or replay\n\n${queue.help}`, EXIT.usage);
  }
}

export const deadLettersCommand: Command = { help: DEAD_LETTERS_HELP, run: (args, io) => queueCommand(deadLetters, args, io) };
export const quarantineCommand: Command = { help: QUARANTINE_HELP, run: (args, io) => queueCommand(quarantine, args, io) };
