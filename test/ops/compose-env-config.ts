/**
 * The service's environment in docker-compose.yml (as JSON, written by test/ops/check-compose.py) must pass the
 * service's own configuration schema: a compose file that would stop the service at start-up fails CI instead.
 * Run by test/ops/check.sh: `node --import tsx test/ops/compose-env-config.ts <env.json>`.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../../src/config.js';

const file = process.argv[2];
if (!file) throw new Error('usage: compose-env-config.ts <env.json>');
const env = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
try {
  const config = loadConfig(env);
  console.log(`docker-compose.yml: the service's environment is valid (store ${config.DATABASE_URL ? 'PostgreSQL' : 'SQLite'}, Unleash ${config.UNLEASH_URL ?? 'none'})`);
} catch (error) {
  if (error instanceof ConfigError) {
    console.log(`docker-compose.yml: the service would not start:\n${error.message}`);
    process.exit(1);
  }
  throw error;
}
