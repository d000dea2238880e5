/**
 * `npm run send-sample -- …`: the same as `codat-cutover send …` (src/cli/), kept for the README's older
 * examples. `npm run send-sample -- --help` lists the options.
 */
import { runCli } from '../src/cli/main.js';

const code = await runCli(['send', ...process.argv.slice(2)], {
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
});
process.exitCode = code;
