import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const SAMPLES_DIR = join(import.meta.dirname, '..', 'fixtures', 'codat-samples');

/** Webhook sample names (file names without `.json`), excluding the signing vectors. */
export function allSampleNames(): string[] {
  return readdirSync(SAMPLES_DIR)
    .filter((f) => f.endsWith('.json') && !f.startsWith('signed-'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function sampleText(name: string): string {
  return readFileSync(join(SAMPLES_DIR, `${name}.json`), 'utf8');
}

export function loadSample(name: string): unknown {
  return JSON.parse(sampleText(name));
}
