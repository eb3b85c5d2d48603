import { isMeaningfulSegment, joinRoute, routeSegment } from './expressRoutePath';

test('routeSegment: strings as written, RegExps and numbers as text, arrays joined with commas', () => {
  expect(routeSegment('/users/:id')).toBe('/users/:id');
  expect(routeSegment(/^\/re\/(\d+)$/)).toBe('/^\\/re\\/(\\d+)$/');
  expect(routeSegment(['/a', '/b/:x', /c/])).toBe('/a,/b/:x,/c/');
  expect(routeSegment(undefined)).toBeUndefined();
  expect(routeSegment(() => {})).toBeUndefined();
});

test('isMeaningfulSegment: the catch-alls say nothing about the route', () => {
  for (const s of ['/', '/*', '/{*splat}', '/{*}', undefined]) expect(isMeaningfulSegment(s)).toBe(false);
  for (const s of ['/api', '*', '/{*a}/b', '/:id']) expect(isMeaningfulSegment(s)).toBe(true);
});

test('joinRoute: mounts then the route, as upstream joins its layer paths', () => {
  expect(joinRoute(undefined, '/items/:id')).toBe('/items/:id');
  expect(joinRoute('/api/users/:uid', '/posts/:pid')).toBe('/api/users/:uid/posts/:pid');
  // A route on the mount's root, or a catch-all: the mount alone.
  expect(joinRoute('/api', '/')).toBe('/api');
  expect(joinRoute('/api', '/{*rest}')).toBe('/api');
  expect(joinRoute(undefined, '/')).toBe('/');
  expect(joinRoute(undefined, '*')).toBe('*');
  // Doubled slashes from a mount ending in one collapse; a missing leading slash is added.
  expect(joinRoute('/api/', '/items')).toBe('/api/items');
  expect(joinRoute(undefined, 'items')).toBe('/items');
  // RegExps and arrays read as written.
  expect(joinRoute('/api', '/^\\/re\\/(\\d+)$/')).toBe('/api/^\\/re\\/(\\d+)$/');
  expect(joinRoute('/api', '/a,/b/:x')).toBe('/api/a,/b/:x');
});
