/**
 * The layout's promises, checked on the imports themselves: folders by stage that never import each other back,
 * a domain core that knows no wire format and no library, and a legacy format that can be deleted as one folder
 * and its lines in src/formats/index.ts (what `npm run contract:rehearsal` does).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Relative imports (static, dynamic and `export … from`), as paths under src/. */
function importsOf(file: string): { specifier: string; target: string }[] {
  const text = readFileSync(file, 'utf8');
  const found: { specifier: string; target: string }[] = [];
  for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)) {
    const specifier = match[1] ?? '';
    const target = specifier.startsWith('.') ? relative(SRC, resolve(dirname(file), specifier)).replace(/\.js$/, '.ts') : specifier;
    found.push({ specifier, target });
  }
  return found;
}

/** The room a file is in: its top folder under src/, or the file itself at the top. */
const roomOf = (path: string) => (path.includes('/') ? path.slice(0, path.indexOf('/')) : path);

const files = sourceFiles(SRC).map((file) => ({ path: relative(SRC, file), imports: importsOf(file) }));

describe('the layout of src/', () => {
  it('when the folders import each other, then never in a circle', () => {
    const edges = new Map<string, Set<string>>();
    for (const file of files) {
      for (const { specifier, target } of file.imports) {
        if (!specifier.startsWith('.')) continue;
        const from = roomOf(file.path);
        const to = roomOf(target);
        if (from !== to) edges.set(from, (edges.get(from) ?? new Set()).add(to));
      }
    }
    const cycles: string[] = [];
    const visit = (room: string, path: string[]) => {
      for (const next of edges.get(room) ?? []) {
        if (next === path[0]) cycles.push([...path, next].join(' → '));
        else if (!path.includes(next) && next > path[0]!) visit(next, [...path, next]);
      }
    };
    for (const room of edges.keys()) visit(room, [room]);
    expect(cycles).toEqual([]);
  });

  it('when the domain core imports, then neither another room nor a wire, flag, metrics or database library', () => {
    const adapters = /^(express|zod|unleash-client|prom-client|pg|better-sqlite3|standardwebhooks)(\/|$)/;
    const outside = files
      .filter((file) => file.path.startsWith('domain/'))
      .flatMap((file) => file.imports.filter(({ specifier, target }) => (specifier.startsWith('.') ? !target.startsWith('domain/') : adapters.test(specifier))).map(({ target }) => `${file.path} → ${target}`));
    expect(outside).toEqual([]);
  });

  it('when anything outside the legacy format names it, then only src/formats/index.ts', () => {
    const naming = files
      .filter((file) => !file.path.startsWith('formats/legacy/') && file.path !== 'formats/index.ts')
      .flatMap((file) => file.imports.filter(({ target }) => target.startsWith('formats/legacy/')).map(({ target }) => `${file.path} → ${target}`));
    expect(naming).toEqual([]);
  });

  it('when a format imports, then neither the other format nor anything beyond the domain and its libraries', () => {
    const crossing = files
      .filter((file) => file.path.startsWith('formats/'))
      .flatMap((file) => {
        const own = file.path.split('/').slice(0, 2).join('/');
        return file.imports
          .filter(({ specifier, target }) => specifier.startsWith('.') && !target.startsWith(own) && !target.startsWith('domain/') && target !== 'formats/webhook-format.ts' && file.path !== 'formats/index.ts')
          .map(({ target }) => `${file.path} → ${target}`);
      });
    expect(crossing).toEqual([]);
  });
});
