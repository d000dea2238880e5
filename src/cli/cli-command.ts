/**
 * What every command of `codat-cutover` is and shares: its help, the options every command takes
 * (`--url`, `--token`, `--help`), strict parsing with Node's `util.parseArgs`, and the client of the service.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, EXIT, createClient, type Client } from './client.js';

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  out(text: string): void;
  err(text: string): void;
}

export interface Command {
  /** Printed for `--help`, and under every usage error of the command. */
  readonly help: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

const COMMON = {
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** The command's options and the common ones; an unknown option or a missing value is a usage error with the help. */
export function parse(help: string, args: readonly string[], options: ParseArgsConfig['options']): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (error) {
    throw new CliError(`${error instanceof Error ? error.message : String(error)}\n\n${help}`, EXIT.usage);
  }
}

export const text = (values: Values, name: string) => (typeof values[name] === 'string' ? values[name] : undefined);

export function clientOf(values: Values, env: CliIo['env']): Client {
  const url = text(values, 'url') ?? env.CODAT_CUTOVER_URL ?? env.SERVICE_URL ?? `http://127.0.0.1:${env.PORT ?? '3000'}`;
  return createClient(url, text(values, 'token') ?? env.ADMIN_TOKEN);
}
