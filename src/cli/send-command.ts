/**
 * `codat-cutover send`: signs bundled Codat samples, or a body of the operator's own, as Codat's webhook
 * service does (Standard Webhooks), and posts them to the endpoint of their format.
 */
import { readFileSync } from 'node:fs';
import { CliError, EXIT } from './client.js';
import { clientOf, parse, text, type CliIo, type Command } from './cli-command.js';
import { channelOfSample, freshen, sampleBody, sampleNames, secretFor, sendWebhook } from './webhook-sender.js';

const SEND_HELP = `Usage: codat-cutover send [<sample>...] [--all] [--file <path> --channel legacy|events] [options]

Signs webhooks as Codat's webhook service does (Standard Webhooks) and sends them.
  <sample>...          bundled samples by name (see --list), e.g. legacy-DataSyncCompleted event-read.completed
  --all                every bundled sample
  --list               list the bundled samples and exit
  --file <path>        a body of your own; needs --channel
  --channel <channel>  legacy or events: which endpoint a --file goes to
  --keep-ids           send the bodies as they are (a second send is then a duplicate); default: fresh ids and times
  --id <webhook-id>    the webhook-id header (default: a fresh one per send; reuse one to test redelivery)

The secret is $CODAT_EVENTS_SECRET / $CODAT_LEGACY_SECRET, else the development secret in $DATA_DIR (default .data).`;

async function send(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(SEND_HELP, args, {
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

export const sendCommand: Command = { help: SEND_HELP, run: send };
