/**
 * `codat-cutover`: the operator's command line for a running service (package.json `bin`, so `npx codat-cutover …`).
 * Arguments are parsed with Node's `util.parseArgs`, strictly: an unknown option or a misspelt value is an error
 * with the command's help, never a guess. Output goes to stdout, progress and errors to stderr.
 * This file picks the command; each command group has its file (cli-command.ts is what they share).
 */
import { CliError, EXIT } from './client.js';
import type { CliIo, Command } from './cli-command.js';
import { deadLettersCommand, quarantineCommand } from './queue-commands.js';
import { flagsCommand, statusCommand } from './report-commands.js';
import { sendCommand } from './send-command.js';

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

const COMMANDS: Record<string, Command> = {
  status: statusCommand,
  send: sendCommand,
  flags: flagsCommand,
  'dead-letters': deadLettersCommand,
  quarantine: quarantineCommand,
};

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(GLOBAL_HELP);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  const chosen = COMMANDS[command];
  if (!chosen) {
    io.err(`unknown command "${command}"\n\n${GLOBAL_HELP}`);
    return EXIT.usage;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.out(chosen.help);
    return EXIT.ok;
  }
  try {
    return await chosen.run(args, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.err(error.message);
      return error.exitCode;
    }
    throw error;
  }
}
