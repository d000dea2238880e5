#!/usr/bin/env node
// `npx codat-cutover …`: the sources through tsx where it is installed (a checkout), else the build in dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/index.ts', import.meta.url);
const built = new URL('../dist/cli/index.js', import.meta.url);
let tsx = null;
try {
  tsx = await import('tsx/esm/api');
} catch {
  // Installed without devDependencies: use the build.
}
if (tsx && existsSync(source)) {
  tsx.register();
  await import(source.href);
} else if (existsSync(built)) {
  await import(built.href);
} else {
  process.stderr.write('codat-cutover: neither tsx nor a build (npm run build) is available\n');
  process.exit(3);
}
