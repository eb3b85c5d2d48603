/**
 * `http.route` from express's own path arguments, with the rules of upstream's express
 * instrumentation (getLayerPath, getConstructedRoute, getActualMatchedRoute) so that lean and
 * full span detail report the same route: a string as written (`/users/:id`), a RegExp as its
 * source text (`/\/item\/(\d+)/`), an array joined with commas, and the catch-alls `/`, `/*`
 * and `/{*name}` contributing nothing.
 */

// express 5's named wildcard: `/{*splat}`.
const CATCH_ALL = /^\/\{[*][^}]*\}$/;

/** The path argument of `use(path, …)` or `route(path)` as one route segment; undefined for none. */
export function routeSegment(path: unknown): string | undefined {
  if (Array.isArray(path)) return path.map((p) => pathText(p) ?? '').join(',');
  return pathText(path);
}

function pathText(p: unknown): string | undefined {
  if (typeof p === 'string') return p;
  if (p instanceof RegExp || typeof p === 'number') return p.toString();
  return undefined;
}

/** False for the segments that match everything and so say nothing about the route. */
export function isMeaningfulSegment(segment: string | undefined): segment is string {
  return segment !== undefined && segment !== '/' && segment !== '/*' && !CATCH_ALL.test(segment);
}

/**
 * The route reported for a request: the meaningful mount segments (joined already, outermost
 * first) followed by the route's own segment.
 */
export function joinRoute(mounts: string | undefined, route: string | undefined): string {
  const own = isMeaningfulSegment(route) ? route : '';
  if (mounts === undefined && own === '*') return '*';
  let joined = mounts === undefined ? own : mounts + own;
  if (joined.includes('//')) joined = joined.replace(/\/{2,}/g, '/');
  // A RegExp or an array reads as written; anything else is a path from the root.
  if (
    joined.includes('/') &&
    (joined.includes(',') || joined.includes('\\') || joined.includes('*') || joined.includes('['))
  )
    return joined;
  return joined.startsWith('/') ? joined : `/${joined}`;
}
