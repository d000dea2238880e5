/**
 * Where the time goes in a V8 .cpuprofile (`node --cpu-prof`): self time by function and by module,
 * and inclusive time of the service's own functions.
 *
 *   npx tsx scripts/bench/profile-summary.ts path/to/file.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './processes.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly byModule: readonly (readonly [string, number])[];
  readonly bySelf: readonly (readonly [string, number])[];
  readonly byInclusive: readonly (readonly [string, number])[];
}

const rootUrl = pathToFileURL(ROOT).href;
/** Where the bench runs the compiled service (scripts/bench/processes.ts): own code, not a package. */
const COMPILED = /\/node_modules\/\.cache\/codat-cutover-bench\/(.+)$/;

/** The project file a frame's URL stands for (the compiled module's source path), or null for packages and Node. */
function ownFile(url: string): string | null {
  const compiled = COMPILED.exec(url)?.[1];
  if (compiled) return compiled.replace(/\.js$/, '.ts');
  if (url.startsWith(rootUrl) && !url.includes('/node_modules/')) return relative(ROOT, new URL(url).pathname);
  return null;
}

/** A readable place for a script URL: `src/…`, a package name, `node:…`, or a V8 pseudo-frame. */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const own = ownFile(url);
  if (own) return own;
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch?.[1]) return packageMatch[1];
  if (url.startsWith(rootUrl)) return relative(ROOT, new URL(url).pathname);
  return url;
}

/** `name file:line`; the service's own files run compiled, so their line numbers are left out. */
function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || '(anonymous)';
  if (!url) return name;
  const own = ownFile(url);
  if (own) return `${name} ${own}`;
  const inPackage = /node_modules\/(.+)$/.exec(url)?.[1];
  if (inPackage) return `${name} ${inPackage}:${lineNumber + 1}`;
  if (url.startsWith(rootUrl)) return `${name} ${relative(ROOT, new URL(url).pathname)}`;
  return `${name} ${url}:${lineNumber + 1}`;
}

export function summariseProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, index) => {
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node) return;
    totalMs += ms;
    if (node.callFrame.functionName === '(idle)') {
      idleMs += ms;
      return;
    }
    const name = frameName(node);
    self.set(name, (self.get(name) ?? 0) + ms);
    const module = moduleOf(node.callFrame.url, node.callFrame.functionName);
    modules.set(module, (modules.get(module) ?? 0) + ms);
    // Inclusive: once per sample for every src/ function on the stack.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (!frame || !ownFile(frame.callFrame.url)) continue;
      const key = frameName(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  });
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  return { totalMs, idleMs, byModule: sorted(modules), bySelf: sorted(self), byInclusive: sorted(inclusive) };
}

export function formatProfileSummary(summary: ProfileSummary, top = 25): string {
  const busy = summary.totalMs - summary.idleMs;
  const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1).padStart(5)} %`;
  const lines = [
    `profile: ${(summary.totalMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy on the main thread (${((100 * busy) / summary.totalMs).toFixed(0)} %); shares below are of busy time`,
    '',
    'self time by module:',
    ...summary.byModule.slice(0, top).map(([name, ms]) => `  ${pct(ms)}  ${name}`),
    '',
    'self time by function:',
    ...summary.bySelf.slice(0, top).map(([name, ms]) => `  ${pct(ms)}  ${name}`),
    '',
    'inclusive time of the service\'s own functions (synchronous stacks only):',
    ...summary.byInclusive.slice(0, top).map(([name, ms]) => `  ${pct(ms)}  ${name}`),
  ];
  return lines.join('\n');
}

export function summariseProfileFile(path: string, top = 25): string {
  return formatProfileSummary(summariseProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile), top);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [path, top] = process.argv.slice(2);
  if (!path) {
    process.stderr.write('usage: tsx scripts/bench/profile-summary.ts FILE.cpuprofile [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${summariseProfileFile(path, top ? Number(top) : 25)}\n`);
}
