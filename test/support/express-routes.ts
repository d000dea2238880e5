/**
 * The routes an Express 5 app registered, read from its router (router@2: `stack`, `route`, and `rawPath` on a
 * mounted router's layer). Throws on a shape it does not know rather than reporting fewer routes.
 */
import type { Express } from 'express';

export interface RegisteredRoute {
  readonly method: string;
  readonly path: string;
}

interface LayerShape {
  readonly route?: { readonly path: unknown; readonly methods: Readonly<Record<string, boolean>> };
  readonly handle?: unknown;
  readonly rawPath?: unknown;
}

const stackOf = (router: unknown): readonly LayerShape[] | null => {
  const stack = (router as { stack?: unknown } | null)?.stack;
  return Array.isArray(stack) ? (stack as LayerShape[]) : null;
};

function collect(stack: readonly LayerShape[], prefix: string, into: RegisteredRoute[]): void {
  for (const layer of stack) {
    if (layer.route) {
      if (typeof layer.route.path !== 'string') throw new Error(`a route path that is not a string: ${String(layer.route.path)}`);
      for (const [method, on] of Object.entries(layer.route.methods)) {
        if (on) into.push({ method: method === '_all' ? 'all' : method, path: `${prefix}${layer.route.path}` });
      }
      continue;
    }
    const nested = stackOf(layer.handle);
    if (nested) {
      if (typeof layer.rawPath !== 'string') throw new Error('a mounted router without rawPath: cannot tell where it is mounted');
      collect(nested, layer.rawPath === '/' ? prefix : `${prefix}${layer.rawPath}`, into);
    }
  }
}

export function registeredRoutes(app: Express): RegisteredRoute[] {
  const stack = stackOf(app.router);
  if (!stack) throw new Error('app.router.stack not found: not an Express 5 app?');
  const routes: RegisteredRoute[] = [];
  collect(stack, '', routes);
  return routes;
}
